/// The `auth` section and `routes.<name>.auth`, in the style of `BridgeConfiguration+Decoding.swift`.

extension AuthConfiguration {
    /// `auth`.
    static func decode(_ reader: SectionReader, base: AuthConfiguration) -> AuthConfiguration {
        AuthConfiguration(
            jwt: reader.optionalSection("jwt", default: base.jwt, blank: JWTAuthConfiguration(), JWTAuthConfiguration.decode),
            http: reader.optionalSection("http", default: base.http, blank: HTTPAuthConfiguration(), HTTPAuthConfiguration.decode)
        )
    }
}

extension JWTAuthConfiguration {
    /// `auth.jwt`.
    static func decode(_ reader: SectionReader, base: JWTAuthConfiguration) -> JWTAuthConfiguration {
        JWTAuthConfiguration(
            keys: reader.value("keys", .list(of: .path), default: base.keys.map(reader.defaultPath)),
            secretFile: reader.optionalValue("secret_file", .path, default: base.secretFile.map(reader.defaultPath)),
            issuer: reader.optionalValue("issuer", .string, default: base.issuer),
            audience: reader.value("audience", .list(of: .string), default: base.audience),
            leeway: reader.value("leeway", .duration, default: base.leeway),
            requiredClaims: reader.value("required_claims", .list(of: .string), default: base.requiredClaims),
            reloadInterval: reader.value("reload_interval", .duration, default: base.reloadInterval)
        )
    }
}

extension HTTPAuthConfiguration {
    /// `auth.http`.
    static func decode(_ reader: SectionReader, base: HTTPAuthConfiguration) -> HTTPAuthConfiguration {
        HTTPAuthConfiguration(
            url: reader.value("url", .string, default: base.url),
            timeout: reader.value("timeout", .duration, default: base.timeout),
            cacheTTL: reader.value("cache_ttl", .duration, default: base.cacheTTL),
            failOpen: reader.value("fail_open", .boolean, default: base.failOpen),
            sendPassword: reader.value("send_password", .boolean, default: base.sendPassword),
            headers: reader.value("headers", .list(of: .string), default: base.headers)
        )
    }
}

extension RouteAuthConfiguration {
    /// `routes.<name>.auth`.
    static func decode(_ reader: SectionReader, base: RouteAuthConfiguration) -> RouteAuthConfiguration {
        RouteAuthConfiguration(
            required: reader.value("required", .boolean, default: base.required),
            sources: reader.value("sources", .list(of: .enumeration), default: base.sources),
            queryParameter: reader.value("query_parameter", .string, default: base.queryParameter),
            cookie: reader.optionalValue("cookie", .string, default: base.cookie),
            disconnectOnExpiry: reader.value("disconnect_on_expiry", .boolean, default: base.disconnectOnExpiry),
            clientIDPattern: reader.optionalValue("client_id_pattern", .string, default: base.clientIDPattern)
        )
    }
}
