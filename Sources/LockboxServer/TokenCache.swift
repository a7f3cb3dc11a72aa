import LockboxCore
import LockboxStore
import NIOConcurrencyHelpers

/// Recent authentications, by token hash, so that a call knows its caller (its principal, its
/// roles, its lane and its place among fair queues) before it takes a database connection.
///
/// An entry is only ever a hint: every call confirms it in its own transaction
/// (``TokenStore/stillValid(_:nowMs:_:)``: the token is not revoked or expired, the principal
/// not suspended, and its `auth_version`, which every change to its authority bumps, the one
/// read), so a revocation or a removed role takes effect on the very next call on every
/// replica. Entries of a principal whose authority changed are also dropped as soon as the
/// change is announced. Bounded: past `capacity` entries, the oldest go.
final class TokenCache: Sendable {
    private struct State {
        var entries: [[UInt8]: (token: AuthenticatedToken, stamp: UInt64)] = [:]
        var byPrincipal: [String: Set<[UInt8]>] = [:]
        var stamp: UInt64 = 0
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int = 50_000) { self.capacity = capacity }

    func get(_ hash: [UInt8]) -> AuthenticatedToken? { state.withLockedValue { $0.entries[hash]?.token } }

    func put(_ hash: [UInt8], _ token: AuthenticatedToken) {
        state.withLockedValue { state in
            state.stamp += 1
            if let old = state.entries[hash] { state.byPrincipal[old.token.caller.id]?.remove(hash) }
            state.entries[hash] = (token, state.stamp)
            state.byPrincipal[token.caller.id, default: []].insert(hash)
            guard state.entries.count > capacity else { return }
            for (stale, entry) in state.entries.sorted(by: { $0.value.stamp < $1.value.stamp })
                .prefix(state.entries.count - capacity * 3 / 4)
            {
                state.entries[stale] = nil
                state.byPrincipal[entry.token.caller.id]?.remove(stale)
            }
        }
    }

    func forget(_ hash: [UInt8]) {
        state.withLockedValue { state in
            guard let entry = state.entries.removeValue(forKey: hash) else { return }
            state.byPrincipal[entry.token.caller.id]?.remove(hash)
        }
    }

    /// The principal's authority changed: its entries go.
    func forget(principalID: String) {
        state.withLockedValue { state in
            for hash in state.byPrincipal.removeValue(forKey: principalID) ?? [] { state.entries[hash] = nil }
        }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }
}

/// The deployment's credential key and the hashes of tokens issued before checksums, read
/// from the database once, at the first call that needs them.
final class Keyring: Sendable {
    struct Keys: Sendable {
        let key: [UInt8]
        let legacy: Set<[UInt8]>
    }

    private let keys = NIOLockedValueBox<Keys?>(nil)

    func current(_ load: () async throws -> Keys) async throws -> Keys {
        if let keys = keys.withLockedValue({ $0 }) { return keys }
        let loaded = try await load()
        keys.withLockedValue { $0 = $0 ?? loaded }
        return loaded
    }
}
