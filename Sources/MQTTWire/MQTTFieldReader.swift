import NIOCore

/// Reads the fields of one packet's variable header and payload, bounded by the packet's remaining length.
///
/// Every read names the field it reads, so that running past the end of the packet becomes a precise
/// `.malformedPacket` ("truncated client identifier") rather than a trap. Strings are validated UTF-8 without
/// U+0000 (3.1.1 §1.5.3, 5.0 §1.5.4); binary fields come back as slices, not copies.
struct MQTTFieldReader {
    /// The packet's fixed header.
    let header: MQTTFixedHeader
    /// The bytes after the fixed header, exactly `header.remainingLength` of them.
    private(set) var body: ByteBuffer

    /// Parses the fixed header of a whole packet, checks its type (unless `expectedType` is nil) and that the
    /// buffer holds exactly the packet.
    init(packet: ByteBuffer, expecting expectedType: MQTTPacketType?) throws(MQTTWireError) {
        guard let header = try MQTTFixedHeader.peek(in: packet, maximumPacketSize: .max) else {
            throw .malformed("truncated fixed header")
        }
        if let expectedType, header.type != expectedType {
            throw .unexpectedType(header.type, expected: expectedType)
        }
        guard packet.readableBytes == header.packetLength else {
            let name = header.type.description.uppercased()
            let held = packet.readableBytes
            throw .malformed("\(name) buffer holds \(held) bytes but its fixed header announces \(header.packetLength)")
        }
        self.header = header
        guard let body = packet.getSlice(at: packet.readerIndex + header.headerLength, length: header.remainingLength)
        else {
            throw .malformed("truncated packet")  // unreachable: the length was checked above
        }
        self.body = body
    }

    /// Bytes of the packet not read yet.
    var remainingBytes: Int { self.body.readableBytes }

    mutating func readByte(_ field: StaticString) throws(MQTTWireError) -> UInt8 {
        guard let byte = self.body.readInteger(as: UInt8.self) else {
            throw .malformed("truncated \(field)")
        }
        return byte
    }

    mutating func readUInt16(_ field: StaticString) throws(MQTTWireError) -> UInt16 {
        guard let value = self.body.readInteger(as: UInt16.self) else {
            throw .malformed("truncated \(field)")
        }
        return value
    }

    mutating func readVariableByteInteger(_ field: StaticString) throws(MQTTWireError) -> Int {
        guard let value = try MQTTVariableByteInteger.read(from: &self.body) else {
            throw .malformed("truncated \(field)")
        }
        return value
    }

    /// A two-byte length followed by that many bytes, as a slice.
    mutating func readBinary(_ field: StaticString) throws(MQTTWireError) -> ByteBuffer {
        guard let length = self.body.getInteger(at: self.body.readerIndex, as: UInt16.self),
            let bytes = self.body.getSlice(at: self.body.readerIndex + 2, length: Int(length))
        else {
            throw .malformed("truncated \(field)")
        }
        self.body.moveReaderIndex(forwardBy: 2 + Int(length))
        return bytes
    }

    /// A two-byte length followed by that many bytes of UTF-8.
    mutating func readString(_ field: StaticString) throws(MQTTWireError) -> String {
        let bytes = try self.readBinary(field)
        if bytes.readableBytesView.contains(0) {
            throw .malformed("\(field) contains U+0000")
        }
        guard let string = Self.decodeUTF8(bytes) else {
            throw .malformed("\(field) is not valid UTF-8")
        }
        return string
    }

    /// The rest of the packet, as a slice.
    mutating func readRest() -> ByteBuffer {
        self.body.readSlice(length: self.body.readableBytes) ?? ByteBuffer()
    }

    /// Throws unless the fixed header carries exactly `flags`.
    func expectFlags(_ flags: UInt8) throws(MQTTWireError) {
        if self.header.flags != flags {
            let name = self.header.type.description.uppercased()
            throw .malformed("\(name) with fixed header flags \(self.header.flags), expected \(flags)")
        }
    }

    /// Reads an MQTT 5.0 property block and checks the shape of every property in it, without keeping any.
    mutating func skipProperties(_ field: StaticString) throws(MQTTWireError) {
        var properties = try self.readProperties(field)
        while try properties.next() != nil {}
    }

    /// Throws unless every byte of the packet has been read.
    func expectEnd(after field: String) throws(MQTTWireError) {
        if self.body.readableBytes != 0 {
            throw .malformed("\(self.body.readableBytes) unexpected bytes after the \(field)")
        }
    }

    /// Reads an MQTT 5.0 property block (a variable byte integer length, then the properties) and returns it as a
    /// reader of its own, so that a property running past the block is caught.
    mutating func readProperties(_ field: StaticString) throws(MQTTWireError) -> MQTTProperties {
        let length = try self.readVariableByteInteger(field)
        guard let block = self.body.readSlice(length: length) else {
            throw .malformed("truncated \(field)")
        }
        return MQTTProperties(bytes: block)
    }

    /// Valid UTF-8 without U+0000, or nil.
    static func decodeUTF8(_ bytes: ByteBuffer) -> String? {
        bytes.withUnsafeReadableBytes { raw -> String? in
            if raw.contains(0) {
                return nil
            }
            return String(validating: raw, as: UTF8.self)
        }
    }
}
