/// Arrays handed out in turn and reused once their readers have let go, so that a steady stream of results (each
/// frame's detections, each batch's list of them) allocates nothing: `take` empties the array of the next slot in
/// place when nobody else holds it (no allocation; its capacity stays), and `keep` leaves the filled array in that
/// slot (a reference, shared with the reader it is handed to). An array a reader still holds when its slot comes
/// round again is left to that reader: `take` then starts a new one (one allocation), so nothing a reader holds is
/// ever changed. With more slots than results in flight, none is still held.
///
/// Used by one thread at a time (the stage's completion thread).
package struct RecycledArrays<Element> {
    private var slots: [[Element]]
    private var next = 0

    package init(count: Int) {
        slots = Array(repeating: [], count: max(1, count))
    }

    /// The next slot's array, emptied (capacity kept when unshared). Give it back with `keep` before the next `take`.
    package mutating func take() -> [Element] {
        var array: [Element] = []
        swap(&array, &slots[next])
        array.removeAll(keepingCapacity: true)
        return array
    }

    /// Keeps `array` (the one `take` returned, now filled) in its slot and moves on to the next slot.
    package mutating func keep(_ array: [Element]) {
        slots[next] = array
        next = (next + 1) % slots.count
    }
}
