import NIOCore
import NIOSSL

/// What a test can learn about the certificate a TLS server presented.
enum PeerCertificate {
    /// The serial number of the server's leaf certificate, upper-case hex as `openssl x509 -noout -serial` prints it;
    /// `nil` without TLS or before the handshake has finished.
    static func serial(on channel: any Channel) async -> String? {
        let bytes = try? await channel.eventLoop.submit { () -> [UInt8]? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.serialNumber
        }.get()
        return bytes.flatMap { $0 }.map(hex)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let text = bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + digits : digits
        }.joined()
        return text.isEmpty ? "00" : text
    }
}
