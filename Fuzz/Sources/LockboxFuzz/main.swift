import LockboxProto
import LockboxRPC
import LockboxTrust
import NIOCore
import NIOEmbedded

/// Every request message type the server decodes, by the method that takes it.
let methods = LockboxMethods.all

/// What else the server reads from a caller's bytes: the customer-signed statements a caller
/// sends (DecideCustomer, CertifyKey, RevokeKey, SetTenantPolicy, AdoptTenantRoot), the
/// evidence a data plane reads, a passkey's assertion, and the response frames a client reads.
/// The order is the seeds' (Tests/LockboxTrustTests/TrustFuzzSeedTests.swift): append only.
let parsers: [@Sendable (UnsafeRawBufferPointer) -> Void] = [
    { _ = try? TenantRootStatement(canonicalBytes: Array($0)) },
    { _ = try? RootAttestation(canonicalBytes: Array($0)) },
    { _ = try? KeyCertificate(canonicalBytes: Array($0)) },
    { _ = try? KeyRevocation(canonicalBytes: Array($0)) },
    { _ = try? TenantPolicy(canonicalBytes: Array($0)) },
    { _ = try? DecisionStatement(canonicalBytes: Array($0)) },
    { _ = try? AccessEvidence(canonicalBytes: Array($0)) },
    verifyAssertion,
    { _ = try? ResponseFrame(decoding: $0) },
    { _ = try? DelegationStatement(canonicalBytes: Array($0)) },
    { _ = try? DelegationRevocation(canonicalBytes: Array($0)) },
]

/// A P-256 public key (SubjectPublicKeyInfo, DER) for the assertions: the checks before the
/// signature's are what the input exercises.
let passkey = TrustKey(
    keyID: "es256:fuzz",
    algorithm: .es256WebAuthn,
    publicKey: hexBytes(
        "3059301306072a8648ce3d020106082a8648ce3d03010703420004742a46e99101118bb10d33d989ce4e8dbc35d261d6b2"
            + "fc96a0170aad4e38e3871bee32c81130cab4d080cd0461f2001faf45ca58915426b1052400a4bed9d4da"
    )
)
let rules = TrustKey.PasskeyRules(
    rpID: "portal.contoso.example",
    origins: ["https://portal.contoso.example"],
    userVerificationRequired: true
)

/// A passkey assertion: the first byte is the authenticator data's length, then the
/// authenticator data, then the client data JSON; over a fixed statement and signature.
func verifyAssertion(_ bytes: UnsafeRawBufferPointer) {
    guard let length = bytes.first else { return }
    let body = Array(bytes.dropFirst())
    let split = min(Int(length), body.count)
    let assertion = WebAuthnAssertion(authenticatorData: Array(body[..<split]), clientDataJSON: Array(body[split...]))
    let signed = SignedBytes(statement: [1, 2, 3], keyID: passkey.keyID, signature: [0x30, 0x06, 2, 1, 1, 2, 1, 1],
        assertion: assertion)
    _ = passkey.verify(signed, rules: rules)
}

func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// One fuzz input: its first byte chooses what the rest is fed to.
///   - 0: a byte stream into the server's frame decoder, in chunks of varying size; each
///     whole frame is decoded as a request frame, and its payload as its method's request.
///   - 1…n: the request message of method n − 1 of ``LockboxMethods/all``.
///   - n+1…: ``parsers``, in order.
/// Decoding may fail, as it must for most inputs; it must never crash, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let target = Int(selector) % (methods.count + 1 + parsers.count)
    if target == 0 {
        decodeStream(rest)
    } else if target <= methods.count {
        _ = try? methods[target - 1].requestMessage.init(decoding: rest)
    } else {
        parsers[target - methods.count - 1](rest)
    }
    return 0
}

func decodeStream(_ bytes: UnsafeRawBufferPointer) {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameSize: 1 << 16)))
    var offset = 0
    var chunk = 1
    while offset < bytes.count {
        let length = min(chunk, bytes.count - offset)
        let piece = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
        do {
            try channel.writeInbound(piece)
        } catch {
            break
        }
        offset += length
        chunk = chunk * 7 % 23 + 1
    }
    while let frame = try? channel.readInbound(as: ByteBuffer.self) {
        frame.withUnsafeReadableBytes { raw in
            guard let request = try? RequestFrame(decoding: raw), let method = request.header?.method,
                let known = methods.first(where: { $0.name == method })
            else { return }
            request.payload.withUnsafeBytes { payload in _ = try? known.requestMessage.init(decoding: payload) }
        }
    }
    _ = try? channel.finish()
}

// SwiftPM links an executable with `main` aliased to `LockboxFuzz_main`; this one hands the
// command line to libFuzzer's driver, which then calls ``fuzzOneInput(_:_:)`` for each input.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt

@_cdecl("LockboxFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
