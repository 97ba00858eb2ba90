import BridgeConfig
import NIOSSL

/// Builds the TLS server context of a listener from PEM files, with errors that name the config key.
enum ServerTLS {
    static func makeContext(_ tls: ListenerTLSConfiguration, listener: String) throws(StartupError) -> NIOSSLContext {
        let prefix = "listeners.\(listener).tls"
        var chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath)
        } catch {
            throw StartupError("\(prefix).certificate: cannot load '\(tls.certificatePath)': \(Self.describe(error, path: tls.certificatePath))")
        }
        guard !chain.isEmpty else {
            throw StartupError("\(prefix).certificate: '\(tls.certificatePath)' contains no PEM certificate")
        }
        if let chainPath = tls.chainPath {
            do {
                chain += try NIOSSLCertificate.fromPEMFile(chainPath)
            } catch {
                throw StartupError("\(prefix).chain: cannot load '\(chainPath)': \(Self.describe(error, path: chainPath))")
            }
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
        } catch {
            throw StartupError("\(prefix).key: cannot load '\(tls.keyPath)': \(Self.describe(error, path: tls.keyPath))")
        }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        // swift-nio-ssl's default minimum is TLS 1.0; WeChat and browsers require 1.2+.
        configuration.minimumTLSVersion = tls.minimumVersion == .v1_3 ? .tlsv13 : .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw StartupError("\(prefix): the key in '\(tls.keyPath)' does not fit the certificate in '\(tls.certificatePath)' (\(error))")
        }
    }

    private static func describe(_ error: any Error, path: String) -> String {
        if let ssl = error as? NIOSSLError, case .failedToLoadCertificate = ssl {
            return "not a readable PEM certificate (missing file or wrong format)"
        }
        if let ssl = error as? NIOSSLError, case .failedToLoadPrivateKey = ssl {
            return "not a readable PEM private key (missing file, wrong format or encrypted)"
        }
        return "\(error)"
    }
}

/// A start-up failure with a message for the operator (no stack trace, names the key).
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
