/// Waits until `condition` holds, looking again every `poll`, for up to `timeout` of wall-clock
/// time: a wait for an event with a generous deadline, not a guessed margin, so that a test
/// passes on a busy machine and fails only when the event never comes. Returns whether it came.
@discardableResult
package func eventually(
    timeout: Duration = .seconds(60),
    poll: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: poll)
    }
    // Once more after the deadline: a test task starved by others' work must still see an
    // event that came in time.
    return try await condition()
}
