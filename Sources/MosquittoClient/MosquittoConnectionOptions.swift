/// How to reach and log in to the broker, and how long to wait for it.
///
/// `description` never prints the password, so options can be logged.
package struct MosquittoConnectionOptions: Sendable, Hashable, CustomStringConvertible {
    /// The MQTT version spoken by the bridge's own client.
    package enum ProtocolVersion: Sendable, Hashable, CustomStringConvertible {
        /// MQTT 3.1.1: no properties; CONNACK return codes.
        case v3_1_1
        /// MQTT 5.0 (the default): user properties, content type, message expiry; PUBACK reason codes.
        case v5

        package var description: String {
            switch self {
            case .v3_1_1: "3.1.1"
            case .v5: "5.0"
            }
        }
    }

    /// Host name or address of the broker's MQTT (TCP) listener. Also the TLS server name (SNI) and the name checked in
    /// the broker's certificate: libmosquitto has no separate server-name setting.
    package var host: String
    package var port: Int
    /// The MQTT client identifier; `nil` (the default) gives every connection a fresh `mqtt-ws-bridge-<8 hex digits>`
    /// (23 characters, the longest an MQTT 3.1.1 broker must accept). A pool appends `-1`, `-2`, … to a fixed one.
    package var clientID: String?
    package var username: String?
    package var password: String?
    /// MQTT keep-alive; whole seconds, 0 (off) or 5…65535 s (libmosquitto refuses less than 5 s).
    package var keepAlive: Duration
    package var protocolVersion: ProtocolVersion
    /// Present → TLS towards the broker.
    package var tls: MosquittoTLSOptions?
    /// From the start of `connect()` (DNS and TCP included) until CONNACK.
    package var connectTimeout: Duration
    /// From handing a publish to libmosquitto until the acknowledgement that ends it: QoS 0 written to the socket,
    /// QoS 1 PUBACK, QoS 2 PUBCOMP. Time spent queued behind the broker's receive maximum counts.
    package var ackTimeout: Duration

    package init(
        host: String = "127.0.0.1",
        port: Int = 1883,
        clientID: String? = nil,
        username: String? = nil,
        password: String? = nil,
        keepAlive: Duration = .seconds(30),
        protocolVersion: ProtocolVersion = .v5,
        tls: MosquittoTLSOptions? = nil,
        connectTimeout: Duration = .seconds(5),
        ackTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.username = username
        self.password = password
        self.keepAlive = keepAlive
        self.protocolVersion = protocolVersion
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.ackTimeout = ackTimeout
    }

    package var description: String {
        var text = "\(host):\(port) MQTT \(protocolVersion)"
        if let clientID { text += " client id \(clientID)" }
        if let username { text += " user \(username)" }
        if password != nil { text += " password <redacted>" }
        if tls != nil { text += " TLS" }
        return text
    }

    /// Checks what libmosquitto would refuse later with a vaguer message.
    func validate() throws(MosquittoError) {
        func invalid(_ reason: String) -> MosquittoError {
            MosquittoError(kind: .invalidConfiguration, reason: reason)
        }
        guard !host.isEmpty else { throw invalid("host is empty") }
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is not in 1...65535") }
        let keepAliveSeconds = keepAlive.components.seconds
        guard keepAliveSeconds == 0 || (5...65_535).contains(keepAliveSeconds) else {
            throw invalid("keep-alive must be 0 or 5...65535 seconds, not \(keepAlive.shortDescription)")
        }
        guard connectTimeout > .zero else { throw invalid("connect timeout must be positive") }
        guard ackTimeout > .zero else { throw invalid("acknowledgement timeout must be positive") }
        for (name, value) in [("client id", clientID), ("username", username)] {
            if let value, !MQTTTopic.isValidUTF8(Array(value.utf8)) {
                throw invalid("\(name) is not a valid MQTT string (at most 65535 bytes, no NUL or control characters)")
            }
        }
        // MQTT passwords are binary, but libmosquitto takes a C string: a NUL would cut it short.
        if let password, password.utf8.count > 65_535 || password.utf8.contains(0) {
            throw invalid("password must be at most 65535 bytes without NUL characters")
        }
        if password != nil && username == nil && protocolVersion == .v3_1_1 {
            throw invalid("MQTT 3.1.1 cannot send a password without a username")
        }
        if let tls {
            try tls.validate()
        }
    }
}

/// TLS towards the broker (`mosquitto_tls_set`, `mosquitto_tls_opts_set`, `mosquitto_tls_insecure_set`).
package struct MosquittoTLSOptions: Sendable, Hashable {
    /// PEM file of trusted CA certificates.
    package var caFile: String?
    /// Directory of trusted CA certificates (`c_rehash` layout).
    package var caPath: String?
    /// Client certificate and its unencrypted private key, for brokers that require mutual TLS; both or neither, and
    /// only together with `caFile` or `caPath` (a libmosquitto rule). An encrypted key fails with `.tls`: the bridge
    /// never prompts on a terminal.
    package var certFile: String?
    package var keyFile: String?
    /// Verify the broker's certificate chain (`SSL_VERIFY_PEER`). `false` only for tests.
    package var verifyPeer: Bool
    /// Check that the certificate names `host`. `false` only for tests.
    package var verifyHostname: Bool

    /// Without `caFile` and `caPath` the system trust store is used (`MOSQ_OPT_TLS_USE_OS_CERTS`).
    package init(
        caFile: String? = nil, caPath: String? = nil, certFile: String? = nil, keyFile: String? = nil,
        verifyPeer: Bool = true, verifyHostname: Bool = true
    ) {
        self.caFile = caFile
        self.caPath = caPath
        self.certFile = certFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
        self.verifyHostname = verifyHostname
    }

    func validate() throws(MosquittoError) {
        guard (certFile == nil) == (keyFile == nil) else {
            throw MosquittoError(
                kind: .invalidConfiguration, reason: "TLS client certificate and key must be given together")
        }
        guard certFile == nil || caFile != nil || caPath != nil else {
            // mosquitto_tls_set, the only way to pass a client certificate, requires a CA file or directory.
            throw MosquittoError(
                kind: .invalidConfiguration, reason: "a TLS client certificate needs caFile or caPath as well")
        }
    }
}

extension Duration {
    /// `2s`, `0.5s`, `150ms`: for messages such as "no CONNACK within 2s".
    var shortDescription: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 {
            return "\(milliseconds)ms"
        }
        if milliseconds % 1000 == 0 {
            return "\(milliseconds / 1000)s"
        }
        return "\(Double(milliseconds) / 1000)s"
    }

    /// Nanoseconds, clamped to what `DispatchTimeInterval` takes.
    var clampedNanoseconds: Int {
        let (seconds, attoseconds) = components
        let (product, overflow) = Int(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int.min : Int.max }
        return product.addingReportingOverflow(Int(attoseconds / 1_000_000_000)).partialValue
    }
}
