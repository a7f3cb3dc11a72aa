/// The version of lockboxd, reported by Ping.
public enum LockboxVersion {
    public static let current = "0.1.0"
}
