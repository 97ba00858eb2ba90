import Crypto
import CryptoExtras
import EdgeAuth
import Foundation
import JWTKit
import Logging
import NIOCore
import NIOPosix

// Usage:
//   edge-auth-cost                      timings: EdgeAuth's synchronous verify, on the caller's thread and from an
//                                       event loop, and jwt-kit's async JWTKeyCollection.verify reached from an event loop
//   edge-auth-cost count <es256|rs256> <n>   n synchronous verifications only (run under callgrind twice with two n;
//                                       the difference divided by the difference of n is the instructions per token)
//   edge-auth-cost count-actor <es256|rs256> <n>   the same through jwt-kit's JWTKeyCollection.verify from a loop

struct Claims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    func verify(using algorithm: some JWTAlgorithm) throws {
        try self.exp.verifyNotExpired()
    }
}

func base64URL(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// A token signed with swift-crypto directly: `{"alg","kid","typ"}.{"sub","exp","iat"}.signature`.
func token(alg: String, kid: String, sign: (Data) throws -> Data) throws -> String {
    let now = Int(Date().timeIntervalSince1970)
    let header = #"{"alg":"\#(alg)","kid":"\#(kid)","typ":"JWT"}"#
    let payload = #"{"exp":\#(now + 3600),"iat":\#(now),"sub":"user-42"}"#
    let input = base64URL(Data(header.utf8)) + "." + base64URL(Data(payload.utf8))
    return input + "." + base64URL(try sign(Data(input.utf8)))
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edge-auth-cost-\(getpid())")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

let ec = P256.Signing.PrivateKey()
let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
try ec.publicKey.pemRepresentation.write(to: directory.appendingPathComponent("es.pem"), atomically: true, encoding: .utf8)
try rsa.publicKey.pemRepresentation.write(to: directory.appendingPathComponent("rs.pem"), atomically: true, encoding: .utf8)
let tokens = [
    "es256": try token(alg: "ES256", kid: "es") { try ec.signature(for: $0).rawRepresentation },
    "rs256": try token(alg: "RS256", kid: "rs") { try rsa.signature(for: $0, padding: .insecurePKCS1v1_5).rawRepresentation },
]
let quiet = Logger(label: "edge-auth-cost") { _ in SwiftLogNoOpLogHandler() }
let verifier = try await TokenVerifier(
    settings: JWTVerifierSettings(keyFiles: [
        directory.appendingPathComponent("es.pem").path, directory.appendingPathComponent("rs.pem").path,
    ]),
    logger: quiet)

@inline(never)
func verifySynchronously(_ token: BearerToken, times: Int) -> Int {
    var accepted = 0
    for _ in 0..<times {
        if case .success = verifier.verify(token) { accepted += 1 }
    }
    return accepted
}

let loop = MultiThreadedEventLoopGroup.singleton.next()
let collection = JWTKeyCollection()
await collection.add(ecdsa: try ES256PublicKey(pem: ec.publicKey.pemRepresentation), kid: "es")
await collection.add(rsa: try JWTKit.Insecure.RSA.PublicKey(pem: rsa.publicKey.pemRepresentation), digestAlgorithm: .sha256, kid: "rs")

/// jwt-kit's own API from a loop: a Task per token, the actor, and the answer back on the loop.
func verifyThroughActor(_ token: String, times: Int) async throws {
    for _ in 0..<times {
        let claims = try await loop.makeFutureWithTask { try await collection.verify(token, as: Claims.self) }.get()
        precondition(claims.sub.value == "user-42")
    }
}

let arguments = CommandLine.arguments
if arguments.count == 4, let token = tokens[arguments[2]], let times = Int(arguments[3]) {
    switch arguments[1] {
    case "count":
        let accepted = verifySynchronously(BearerToken(token, source: .header), times: times)
        precondition(accepted == times, "a token was refused")
    case "count-actor":
        try await verifyThroughActor(token, times: times)
    default:
        print("usage: edge-auth-cost [count|count-actor <es256|rs256> <n>]")
        exit(64)
    }
    exit(0)
}

/// CPU time of the whole process (user + system), in nanoseconds: it counts the work of every thread involved.
func cpuNanoseconds() -> Int64 {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports the constant as an enum case
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    let user = Int64(usage.ru_utime.tv_sec) * 1_000_000_000 + Int64(usage.ru_utime.tv_usec) * 1000
    let system = Int64(usage.ru_stime.tv_sec) * 1_000_000_000 + Int64(usage.ru_stime.tv_usec) * 1000
    return user + system
}

/// Runs `body` (which does `times` verifications) five times; the median round's wall and CPU time per verification.
func measure(_ times: Int, _ body: () async throws -> Void) async rethrows -> (wall: Double, cpu: Double) {
    var rounds: [(wall: Double, cpu: Double)] = []
    try await body()  // warm-up
    for _ in 0..<5 {
        let start = ContinuousClock.now
        let cpu = cpuNanoseconds()
        try await body()
        let wall = ContinuousClock.now - start
        let wallNanoseconds = Double(wall.components.seconds) * 1e9 + Double(wall.components.attoseconds) / 1e9
        rounds.append((wallNanoseconds / Double(times) / 1000, Double(cpuNanoseconds() - cpu) / Double(times) / 1000))
    }
    return rounds.sorted { $0.wall < $1.wall }[2]
}

print("µs per verification (median of 5 rounds; wall = latency seen by the caller, cpu = process CPU time)")
print("alg    path                                              wall     cpu")
for name in ["es256", "rs256"] {
    guard let token = tokens[name] else { continue }
    let bearer = BearerToken(token, source: .header)
    let times = 2000
    let direct = await measure(times) { precondition(verifySynchronously(bearer, times: times) == times) }
    // One verification per loop task, as a channel handler would do it: submit, verify, complete.
    let onLoop = try await measure(times) {
        for _ in 0..<times {
            let accepted = try await loop.submit { verifySynchronously(bearer, times: 1) }.get()
            precondition(accepted == 1)
        }
    }
    let actor = try await measure(times) { try await verifyThroughActor(token, times: times) }
    func line(_ path: String, _ figures: (wall: Double, cpu: Double)) {
        print(
            name.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0) + path.padding(toLength: 48, withPad: " ", startingAt: 0)
                + String(format: "%7.1f %7.1f", figures.wall, figures.cpu))
    }
    line("EdgeAuth verify, caller's thread", direct)
    line("EdgeAuth verify in an event-loop task", onLoop)
    line("jwt-kit JWTKeyCollection.verify via a Task", actor)
}
