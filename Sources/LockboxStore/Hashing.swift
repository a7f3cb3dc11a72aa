import Crypto
import Foundation
import LockboxIntegrity

/// SHA-256, for what the store keeps only as a hash: token secrets and request fingerprints.
package enum Hashing {
    package static func sha256(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }

    /// Lower-case hex of the SHA-256 of the UTF-8 text.
    package static func sha256Hex(_ text: String) -> String { sha256(text).hex }
}
