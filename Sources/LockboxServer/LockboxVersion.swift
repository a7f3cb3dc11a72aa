/// The version of lockboxd, reported by Ping.
package enum LockboxVersion {
    package static let current = "0.1.0"
}
