import CLookoutCUDA

/// Copies between host and device. The asynchronous ones return at once; the copy is ordered on the stream and
/// its completion is observed with an event. From pageable memory the driver stages through its own pinned buffer
/// and the call returns only once the source may be reused.
extension CUDAStream {
    /// Host → device, `byteCount` bytes (all of `source` when nil).
    package func copy(
        _ source: borrowing HostBuffer, sourceOffset: Int = 0, to destination: borrowing DeviceBuffer,
        destinationOffset: Int = 0, byteCount: Int? = nil
    ) throws(CUDAError) {
        let count = byteCount ?? (source.byteCount - sourceOffset)
        precondition(sourceOffset >= 0 && sourceOffset + count <= source.byteCount, "copy reads past the host buffer")
        precondition(
            destinationOffset >= 0 && destinationOffset + count <= destination.byteCount,
            "copy writes past the device buffer")
        try api.check(
            api.cuMemcpyHtoDAsync(
                destination.address &+ UInt64(destinationOffset), source.base + sourceOffset, count, handle),
            "cuMemcpyHtoDAsync")
    }

    /// Device → host, `byteCount` bytes (all of `source` when nil).
    package func copy(
        _ source: borrowing DeviceBuffer, sourceOffset: Int = 0, to destination: borrowing HostBuffer,
        destinationOffset: Int = 0, byteCount: Int? = nil
    ) throws(CUDAError) {
        let count = byteCount ?? (source.byteCount - sourceOffset)
        precondition(sourceOffset >= 0 && sourceOffset + count <= source.byteCount, "copy reads past the device buffer")
        precondition(
            destinationOffset >= 0 && destinationOffset + count <= destination.byteCount,
            "copy writes past the host buffer")
        try api.check(
            api.cuMemcpyDtoHAsync(
                destination.base + destinationOffset, source.address &+ UInt64(sourceOffset), count, handle),
            "cuMemcpyDtoHAsync")
    }

    /// Device → device.
    package func copy(
        _ source: borrowing DeviceBuffer, sourceOffset: Int = 0, to destination: borrowing DeviceBuffer,
        destinationOffset: Int = 0, byteCount: Int? = nil
    ) throws(CUDAError) {
        let count = byteCount ?? (source.byteCount - sourceOffset)
        precondition(sourceOffset + count <= source.byteCount && destinationOffset + count <= destination.byteCount)
        try api.check(
            api.cuMemcpyDtoDAsync(
                destination.address &+ UInt64(destinationOffset), source.address &+ UInt64(sourceOffset), count, handle),
            "cuMemcpyDtoDAsync")
    }

    /// A 2D host → device copy: `height` rows of `widthBytes`, each row `sourcePitch` / `destinationPitch` apart.
    package func copy2D(
        _ source: borrowing HostBuffer, sourceOffset: Int = 0, sourcePitch: Int, to destination: borrowing DeviceBuffer,
        destinationOffset: Int = 0, destinationPitch: Int, widthBytes: Int, height: Int
    ) throws(CUDAError) {
        precondition(widthBytes <= sourcePitch && widthBytes <= destinationPitch, "a row is wider than its pitch")
        precondition(
            sourceOffset + (height - 1) * sourcePitch + widthBytes <= source.byteCount,
            "copy reads past the host buffer")
        precondition(
            destinationOffset + (height - 1) * destinationPitch + widthBytes <= destination.byteCount,
            "copy writes past the device buffer")
        var descriptor = LookoutCUDAMemcpy2D()
        descriptor.srcMemoryType = 1  // CU_MEMORYTYPE_HOST
        descriptor.srcHost = UnsafeRawPointer(source.base + sourceOffset)
        descriptor.srcPitch = sourcePitch
        descriptor.dstMemoryType = 2  // CU_MEMORYTYPE_DEVICE
        descriptor.dstDevice = destination.address &+ UInt64(destinationOffset)
        descriptor.dstPitch = destinationPitch
        descriptor.WidthInBytes = widthBytes
        descriptor.Height = height
        try api.check(api.cuMemcpy2DAsync(&descriptor, handle), "cuMemcpy2DAsync")
    }

    /// A 2D device → host copy.
    package func copy2D(
        _ source: borrowing DeviceBuffer, sourceOffset: Int = 0, sourcePitch: Int, to destination: borrowing HostBuffer,
        destinationOffset: Int = 0, destinationPitch: Int, widthBytes: Int, height: Int
    ) throws(CUDAError) {
        precondition(widthBytes <= sourcePitch && widthBytes <= destinationPitch, "a row is wider than its pitch")
        precondition(sourceOffset + (height - 1) * sourcePitch + widthBytes <= source.byteCount)
        precondition(destinationOffset + (height - 1) * destinationPitch + widthBytes <= destination.byteCount)
        var descriptor = LookoutCUDAMemcpy2D()
        descriptor.srcMemoryType = 2
        descriptor.srcDevice = source.address &+ UInt64(sourceOffset)
        descriptor.srcPitch = sourcePitch
        descriptor.dstMemoryType = 1
        descriptor.dstHost = destination.base + destinationOffset
        descriptor.dstPitch = destinationPitch
        descriptor.WidthInBytes = widthBytes
        descriptor.Height = height
        try api.check(api.cuMemcpy2DAsync(&descriptor, handle), "cuMemcpy2DAsync")
    }

    /// Sets every byte of `buffer` to `value`.
    package func fill(_ buffer: borrowing DeviceBuffer, byte value: UInt8) throws(CUDAError) {
        try api.check(api.cuMemsetD8Async(buffer.address, value, buffer.byteCount, handle), "cuMemsetD8Async")
    }

    /// Migrates a managed buffer's pages to the device (or back to the host) ahead of use.
    package func prefetch(_ buffer: borrowing HostBuffer, toDevice: Bool) throws(CUDAError) {
        precondition(buffer.kind == .managed, "only managed memory can be prefetched")
        let destination: LookoutCUdevice = toDevice ? context.device.handle : -1  // CU_DEVICE_CPU
        try api.check(
            api.cuMemPrefetchAsync(UInt64(UInt(bitPattern: buffer.base)), buffer.byteCount, destination, handle),
            "cuMemPrefetchAsync")
    }

    /// `prefetch` by address, for a managed buffer held elsewhere (a frame-pool buffer lent as its address).
    package func prefetch(managed pointer: DevicePointer, byteCount: Int, toDevice: Bool) throws(CUDAError) {
        let destination: LookoutCUdevice = toDevice ? context.device.handle : -1  // CU_DEVICE_CPU
        try api.check(api.cuMemPrefetchAsync(pointer.address, byteCount, destination, handle), "cuMemPrefetchAsync")
    }

    /// A host → device copy from memory lent as a pointer (a frame-pool buffer travelling as its address), which
    /// must stay valid and unwritten until the stream has done the copy.
    package func copy(from source: UnsafeRawPointer, byteCount: Int, to destination: DevicePointer) throws(CUDAError) {
        try api.check(api.cuMemcpyHtoDAsync(destination.address, source, byteCount, handle), "cuMemcpyHtoDAsync")
    }
}

extension CUDAContext {
    /// A synchronous host → device copy (`cuMemcpyHtoD`): returns when the data is on the device.
    package func copySynchronously(
        _ source: borrowing HostBuffer, sourceOffset: Int = 0, to destination: borrowing DeviceBuffer,
        destinationOffset: Int = 0, byteCount: Int? = nil
    ) throws(CUDAError) {
        let count = byteCount ?? (source.byteCount - sourceOffset)
        precondition(sourceOffset + count <= source.byteCount && destinationOffset + count <= destination.byteCount)
        try bind()
        try api.check(
            api.cuMemcpyHtoD(destination.address &+ UInt64(destinationOffset), source.base + sourceOffset, count),
            "cuMemcpyHtoD")
    }

    /// A synchronous device → host copy.
    package func copySynchronously(
        _ source: borrowing DeviceBuffer, sourceOffset: Int = 0, to destination: borrowing HostBuffer,
        destinationOffset: Int = 0, byteCount: Int? = nil
    ) throws(CUDAError) {
        let count = byteCount ?? (source.byteCount - sourceOffset)
        precondition(sourceOffset + count <= source.byteCount && destinationOffset + count <= destination.byteCount)
        try bind()
        try api.check(
            api.cuMemcpyDtoH(destination.base + destinationOffset, source.address &+ UInt64(sourceOffset), count),
            "cuMemcpyDtoH")
    }
}
