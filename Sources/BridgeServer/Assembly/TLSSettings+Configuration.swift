import BridgeConfig
import BridgeTLS

// The assembly point for BridgeTLS: `listeners.<name>.tls` and `upstream.tls` as its own settings.

extension ListenerTLSSettings {
    package init(_ configuration: ListenerTLSConfiguration) {
        self.init(
            certificatePath: configuration.certificatePath, keyPath: configuration.keyPath, chainPath: configuration.chainPath,
            minimumVersion: TLSPolicy.MinimumVersion(configuration.minimumVersion), profile: TLSPolicy.Profile(configuration.profile),
            cipherSuites: configuration.cipherSuites, reloadInterval: configuration.reloadInterval,
            sni: configuration.sni.map { entry in
                SNICertificate(
                    name: entry.name, serverNames: entry.serverNames, certificatePath: entry.certificatePath, keyPath: entry.keyPath,
                    chainPath: entry.chainPath)
            })
    }
}

extension UpstreamTLSSettings {
    package init(_ configuration: UpstreamTLSConfiguration) {
        self.init(
            caFilePath: configuration.caFilePath, serverName: configuration.serverName, verify: configuration.verify,
            certificatePath: configuration.certificatePath, keyPath: configuration.keyPath,
            profile: TLSPolicy.Profile(configuration.profile), cipherSuites: configuration.cipherSuites)
    }
}

extension TLSPolicy.Profile {
    package init(_ profile: TLSProfile) {
        switch profile {
        case .modern: self = .modern
        case .intermediate: self = .intermediate
        case .old: self = .old
        }
    }
}

extension TLSPolicy.MinimumVersion {
    package init(_ version: TLSMinimumVersion) {
        switch version {
        case .v1_2: self = .v1_2
        case .v1_3: self = .v1_3
        }
    }
}
