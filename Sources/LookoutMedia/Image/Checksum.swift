import CLookoutImage

/// CRC-32 (zlib's) of pixel bytes: tests compare decoded images with OpenCV's through it.
package enum Checksum {
    package static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        lk_crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
    }
}
