// The user surface of Lookout: `import Lookout` brings detection on images (`Detector`), the streaming pipeline
// (`Pipeline`) and the types they speak in. The modules behind it are internal to the package.
@_exported import LookoutCore
@_exported import LookoutEvents
@_exported import LookoutInference
@_exported import LookoutMedia
@_exported import LookoutModel
@_exported import LookoutPipeline
@_exported import LookoutYOLO
