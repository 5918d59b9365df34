import CLookoutCUDA

/// A cuDNN handle on one context. cuDNN binds a handle to the device current when it is made; every call that
/// launches work sets the handle's stream first (`cudnnSetStream`), so one handle serves any stream of the context.
package final class CUDNNHandle: @unchecked Sendable {
    package let cudnn: CUDNN
    package let context: CUDAContext
    let handle: LookoutCUDNNHandle
    var api: CUDNNAPI { cudnn.api }

    package init(cudnn: CUDNN, context: CUDAContext) throws {
        self.cudnn = cudnn
        self.context = context
        try context.bind()
        var handle: LookoutCUDNNHandle? = nil
        try cudnn.api.check(cudnn.api.cudnnCreate(&handle), "cudnnCreate")
        self.handle = handle!
    }

    deinit {
        try? context.bind()
        _ = api.cudnnDestroy(handle)
    }
}
