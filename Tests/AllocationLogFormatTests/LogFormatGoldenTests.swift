import AllocationLog
import Foundation
import BindingState
import Glibc
import PortSets
import Syscalls
import Testing
import WireFormat

/// The allocation log's bytes, JSON lines and RFC 5424 syslog datagrams, for a fixed set of
/// records, compared with the output captured before the formatting was rewritten for speed:
/// collectors parse these lines, so field order, escaping and framing must not change.
@Suite struct LogFormatGoldenTests {
    static let geometry = try! PSIDGeometry(offset: 6, psidLength: 6)
    static let directory = try! SubscriberDirectory([
        Subscriber(id: SubscriberID("cust-a"), links: [try! IPPrefix("198.51.100.2/32"), try! IPPrefix("2001:db8:1:200::/56")]),
        Subscriber(id: SubscriberID("cust-b"), links: [try! IPPrefix("198.51.100.6/32")]),
    ])
    static let formatter = LogFormatter(subscribers: SubscriberRegistry(directory), geometry: geometry)
    static let custA = SubscriberID("cust-a"), custB = SubscriberID("cust-b")
    /// A default subscriber: not in the directory, its id is its prefix.
    static let defaultSubscriber = SubscriberID("203.0.113.9/32")
    /// Not a valid name, so never from a file: only here to pin the JSON and syslog escaping (a
    /// "]" with a combining accent is one character that syslog leaves unescaped).
    static let oddSubscriber = SubscriberID("odd\"name\\x]\u{1}\t\n\r\u{1f}\u{e9}]\u{301}")

    static func endpoint(_ text: String, _ port: UInt16) -> Endpoint {
        Endpoint(address: IPAddress(text)!, port: port)
    }

    static func mapping(_ subscriber: SubscriberID, _ transport: TransportProtocol, ports: ClosedRange<UInt16>, inside: String,
                        internalPort: UInt16, cpe: String, filters: [MappingFilter] = [], expires: Int64) -> PortMapping {
        PortMapping(subscriber: subscriber, transport: transport, externalAddress: IPv4Address(100, 64, 0, 1), externalPorts: ports,
                    internalAddress: IPAddress(inside)!, internalPort: internalPort, cpeAddress: IPAddress(cpe)!,
                    nonce: MappingNonce(high: 1, low: 2), filters: filters, created: 1_765_105_000_000, expires: expires)
    }

    /// One of every kind of record, at times that cross a second, a millisecond below 100 and the epoch.
    static let records: [LogRecord] = [
        LogRecord(.lease(LeaseEvent(.allocated, subscriber: custA, address: IPv4Address(100, 64, 0, 1), psid: 5)), time: 1_765_105_512_345),
        LogRecord(.lease(LeaseEvent(.renewed, subscriber: custB, address: IPv4Address(100, 64, 0, 1), psid: 63)), time: 1_765_105_512_999),
        LogRecord(.lease(LeaseEvent(.released, subscriber: oddSubscriber, address: IPv4Address(100, 64, 0, 2), psid: 0)), time: 1_765_105_513_007),
        LogRecord(.lease(LeaseEvent(.released, subscriber: defaultSubscriber, address: IPv4Address(100, 64, 0, 2), psid: 1)), time: 1_765_105_513_007),
        // A PSID outside the geometry: no port set to list.
        LogRecord(.lease(LeaseEvent(.allocated, subscriber: custB, address: IPv4Address(100, 64, 0, 3), psid: 64)), time: 946_684_799_999),
        LogRecord(.held(subscriber: custA, address: IPv4Address(100, 64, 0, 3), psid: 1), time: 0),
        LogRecord(.exhausted(ExhaustionEvent(.pool, subscriber: custB)), time: 1_765_105_600_000),
        LogRecord(.exhausted(ExhaustionEvent(.portSet(.udp), subscriber: custA, address: IPv4Address(100, 64, 0, 1), psid: 5)),
                  time: 1_765_105_600_001),
        LogRecord(.exhausted(ExhaustionEvent(.portSet(.tcp), subscriber: defaultSubscriber)), time: 1_765_105_600_010),
        LogRecord(.session(SessionEvent(.created, transport: .tcp, subscriber: custA, cpe: endpoint("198.51.100.2", 40001),
                                        external: endpoint("100.64.0.1", 1029), remote: endpoint("203.0.113.2", 443))),
                  time: 1_765_105_700_100),
        LogRecord(.session(SessionEvent(.deleted, transport: .udp, subscriber: custA, cpe: endpoint("2001:db8:1:200::5", 5353),
                                        external: endpoint("100.64.0.1", 1030), remote: endpoint("2001:db8:ff::1:0:2", 53))),
                  time: 1_765_105_700_200),
        LogRecord(.session(SessionEvent(.created, transport: .udp, subscriber: defaultSubscriber, cpe: endpoint("::ffff:203.0.113.9", 1),
                                        external: endpoint("100.64.0.2", 65535), remote: endpoint("::", 0))),
                  time: 1_765_105_700_201),
        LogRecord(.mapping(MappingEvent(.created, mapping(custA, .tcp, ports: 1029...1031, inside: "192.168.1.10", internalPort: 8080,
                                                          cpe: "198.51.100.2", expires: 1_765_109_112_345))),
                  time: 1_765_105_800_000),
        LogRecord(.mapping(MappingEvent(.renewed, mapping(custA, .udp, ports: 1040...1040, inside: "fd00::10", internalPort: 65535,
                                                          cpe: "2001:db8:1:200::1", expires: 1_765_109_200_000))),
                  time: 1_765_105_800_001),
        LogRecord(.mapping(MappingEvent(.deleted, mapping(
            custB, .tcp, ports: 2048...2063, inside: "192.168.1.11", internalPort: 22, cpe: "198.51.100.6",
            filters: [MappingFilter(prefix: try! IPPrefix("203.0.113.0/24"), port: 443),
                      MappingFilter(prefix: try! IPPrefix("2001:db8::/32"), port: 0)],
            expires: 1_765_105_800_002))),
                  time: 1_765_105_800_002),
        LogRecord(.mapping(MappingEvent(.expired, mapping(oddSubscriber, .udp, ports: 3000...3001, inside: "192.168.1.12", internalPort: 3000,
                                                          cpe: "198.51.100.9", expires: 1_765_105_800_003))),
                  time: 1_765_105_800_003),
    ]

    /// What `--log-json` appends for `records`: the file's bytes after one batch.
    static func jsonText(_ records: [LogRecord], formatter: LogFormatter, renderer: LogRenderer? = nil) throws -> String {
        let path = "/tmp/plainmode-log-golden-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        defer { unlink(path) }
        let output = try JSONLinesOutput(path: path)
        #expect(output.write(records, renderer: renderer ?? LogRenderer(formatter)))
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// What `--log-syslog udp://...` sends for `records`: one datagram per record, as received.
    static func syslogMessages(_ records: [LogRecord], formatter: LogFormatter) throws -> [String] {
        let collector = try Socket.datagram(family: AF_INET)
        defer { collector.close() }
        try collector.setReceiveBufferForced(4 << 20)
        try collector.bind(SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0))
        let port = try collector.localAddress().port
        let output = try SyslogOutput(target: "udp://127.0.0.1:\(port)")
        #expect(output.write(records, renderer: LogRenderer(formatter)))
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while messages.count < records.count {
            let received = try buffer.withUnsafeMutableBytes { try collector.receiveDatagram(into: $0) }
            guard let received else { break }
            messages.append(String(decoding: buffer[0..<received.count], as: UTF8.self))
        }
        return messages
    }

    /// The syslog header's host and process, which differ per machine and run.
    static var hostAndProcess: String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "-"
        return "\(host) plainmode \(getpid())"
    }

    static func compare(_ actual: [String], _ expected: [String], _ what: String) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) lines, expected \(expected.count)")
        for (index, (line, golden)) in zip(actual, expected).enumerated() where line != golden {
            Issue.record("\(what) record \(index) differs:\n  got      \(line)\n  expected \(golden)")
        }
    }

    @Test func jsonLinesAreByteForByteTheSame() throws {
        let text = try Self.jsonText(Self.records, formatter: Self.formatter)
        #expect(text.hasSuffix("\n"))
        Self.compare(text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init), Self.goldenJSON, "json")
    }

    @Test func syslogMessagesAreByteForByteTheSame() throws {
        let messages = try Self.syslogMessages(Self.records, formatter: Self.formatter)
        let expected = Self.goldenSyslog.map { $0.replacing("{host} plainmode {pid}", with: Self.hostAndProcess) }
        Self.compare(messages, expected, "syslog")
    }

    /// Without a PSID geometry a lease record has no port set.
    @Test func leaseRecordsWithoutAGeometryListNoPorts() throws {
        let formatter = LogFormatter(subscribers: SubscriberRegistry(Self.directory), geometry: nil)
        let records = Array(Self.records[0..<2])
        let text = try Self.jsonText(records, formatter: formatter)
        Self.compare(text.split(separator: "\n").map(String.init), Self.goldenJSONWithoutGeometry, "json-nogeometry")
        let expected = Self.goldenSyslogWithoutGeometry.map { $0.replacing("{host} plainmode {pid}", with: Self.hostAndProcess) }
        Self.compare(try Self.syslogMessages(records, formatter: formatter), expected, "syslog-nogeometry")
    }

    /// Many records in one batch: the same bytes as one at a time, in order.
    @Test func aLargeBatchIsTheRecordsInOrder() throws {
        let records = Array(repeating: Self.records, count: 40).flatMap { $0 }
        let text = try Self.jsonText(records, formatter: Self.formatter)
        let expected = Array(repeating: Self.goldenJSON, count: 40).flatMap { $0 }
        Self.compare(text.split(separator: "\n").map(String.init), expected, "json-batch")
    }

    /// A directory replaced by SIGHUP is in the records of the next batch.
    @Test func aReplacedDirectoryIsReadForTheNextBatch() throws {
        let registry = SubscriberRegistry(Self.directory)
        let formatter = LogFormatter(subscribers: registry, geometry: nil)
        let renderer = LogRenderer(formatter)
        let record = LogRecord(.exhausted(ExhaustionEvent(.pool, subscriber: Self.custA)), time: 1_765_105_600_000)
        #expect(try Self.jsonText([record], formatter: formatter, renderer: renderer).contains(#""cpe":["198.51.100.2/32","2001:db8:1:200::/56"]"#))
        registry.replace(with: try SubscriberDirectory([Subscriber(id: Self.custA, links: [try IPPrefix("192.0.2.7/32")])]))
        renderer.readDirectory()
        #expect(try Self.jsonText([record], formatter: formatter, renderer: renderer).contains(#""cpe":["192.0.2.7/32"]}"#))
    }

    static let goldenJSON: [String] = [
        "{\"time\":\"2025-12-07T11:05:12.345Z\",\"time_ms\":1765105512345,\"event\":\"lease_allocated\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"address\":\"100.64.0.1\",\"psid\":5,\"ports\":[\"1104-1119\",\"2128-2143\",\"3152-3167\",\"4176-4191\",\"5200-5215\",\"6224-6239\",\"7248-7263\",\"8272-8287\",\"9296-9311\",\"10320-10335\",\"11344-11359\",\"12368-12383\",\"13392-13407\",\"14416-14431\",\"15440-15455\",\"16464-16479\",\"17488-17503\",\"18512-18527\",\"19536-19551\",\"20560-20575\",\"21584-21599\",\"22608-22623\",\"23632-23647\",\"24656-24671\",\"25680-25695\",\"26704-26719\",\"27728-27743\",\"28752-28767\",\"29776-29791\",\"30800-30815\",\"31824-31839\",\"32848-32863\",\"33872-33887\",\"34896-34911\",\"35920-35935\",\"36944-36959\",\"37968-37983\",\"38992-39007\",\"40016-40031\",\"41040-41055\",\"42064-42079\",\"43088-43103\",\"44112-44127\",\"45136-45151\",\"46160-46175\",\"47184-47199\",\"48208-48223\",\"49232-49247\",\"50256-50271\",\"51280-51295\",\"52304-52319\",\"53328-53343\",\"54352-54367\",\"55376-55391\",\"56400-56415\",\"57424-57439\",\"58448-58463\",\"59472-59487\",\"60496-60511\",\"61520-61535\",\"62544-62559\",\"63568-63583\",\"64592-64607\"],\"port_count\":1008}",
        "{\"time\":\"2025-12-07T11:05:12.999Z\",\"time_ms\":1765105512999,\"event\":\"lease_renewed\",\"subscriber\":\"cust-b\",\"cpe\":[\"198.51.100.6/32\"],\"address\":\"100.64.0.1\",\"psid\":63,\"ports\":[\"2032-2047\",\"3056-3071\",\"4080-4095\",\"5104-5119\",\"6128-6143\",\"7152-7167\",\"8176-8191\",\"9200-9215\",\"10224-10239\",\"11248-11263\",\"12272-12287\",\"13296-13311\",\"14320-14335\",\"15344-15359\",\"16368-16383\",\"17392-17407\",\"18416-18431\",\"19440-19455\",\"20464-20479\",\"21488-21503\",\"22512-22527\",\"23536-23551\",\"24560-24575\",\"25584-25599\",\"26608-26623\",\"27632-27647\",\"28656-28671\",\"29680-29695\",\"30704-30719\",\"31728-31743\",\"32752-32767\",\"33776-33791\",\"34800-34815\",\"35824-35839\",\"36848-36863\",\"37872-37887\",\"38896-38911\",\"39920-39935\",\"40944-40959\",\"41968-41983\",\"42992-43007\",\"44016-44031\",\"45040-45055\",\"46064-46079\",\"47088-47103\",\"48112-48127\",\"49136-49151\",\"50160-50175\",\"51184-51199\",\"52208-52223\",\"53232-53247\",\"54256-54271\",\"55280-55295\",\"56304-56319\",\"57328-57343\",\"58352-58367\",\"59376-59391\",\"60400-60415\",\"61424-61439\",\"62448-62463\",\"63472-63487\",\"64496-64511\",\"65520-65535\"],\"port_count\":1008}",
        "{\"time\":\"2025-12-07T11:05:13.007Z\",\"time_ms\":1765105513007,\"event\":\"lease_released\",\"subscriber\":\"odd\\\"name\\\\x]\\u0001\\t\\n\\r\\u001f\u{e9}]\u{301}\",\"cpe\":[\"odd\\\"name\\\\x]\\u0001\\t\\n\\r\\u001f\u{e9}]\u{301}\"],\"address\":\"100.64.0.2\",\"psid\":0,\"ports\":[\"1024-1039\",\"2048-2063\",\"3072-3087\",\"4096-4111\",\"5120-5135\",\"6144-6159\",\"7168-7183\",\"8192-8207\",\"9216-9231\",\"10240-10255\",\"11264-11279\",\"12288-12303\",\"13312-13327\",\"14336-14351\",\"15360-15375\",\"16384-16399\",\"17408-17423\",\"18432-18447\",\"19456-19471\",\"20480-20495\",\"21504-21519\",\"22528-22543\",\"23552-23567\",\"24576-24591\",\"25600-25615\",\"26624-26639\",\"27648-27663\",\"28672-28687\",\"29696-29711\",\"30720-30735\",\"31744-31759\",\"32768-32783\",\"33792-33807\",\"34816-34831\",\"35840-35855\",\"36864-36879\",\"37888-37903\",\"38912-38927\",\"39936-39951\",\"40960-40975\",\"41984-41999\",\"43008-43023\",\"44032-44047\",\"45056-45071\",\"46080-46095\",\"47104-47119\",\"48128-48143\",\"49152-49167\",\"50176-50191\",\"51200-51215\",\"52224-52239\",\"53248-53263\",\"54272-54287\",\"55296-55311\",\"56320-56335\",\"57344-57359\",\"58368-58383\",\"59392-59407\",\"60416-60431\",\"61440-61455\",\"62464-62479\",\"63488-63503\",\"64512-64527\"],\"port_count\":1008}",
        "{\"time\":\"2025-12-07T11:05:13.007Z\",\"time_ms\":1765105513007,\"event\":\"lease_released\",\"subscriber\":\"203.0.113.9/32\",\"cpe\":[\"203.0.113.9/32\"],\"address\":\"100.64.0.2\",\"psid\":1,\"ports\":[\"1040-1055\",\"2064-2079\",\"3088-3103\",\"4112-4127\",\"5136-5151\",\"6160-6175\",\"7184-7199\",\"8208-8223\",\"9232-9247\",\"10256-10271\",\"11280-11295\",\"12304-12319\",\"13328-13343\",\"14352-14367\",\"15376-15391\",\"16400-16415\",\"17424-17439\",\"18448-18463\",\"19472-19487\",\"20496-20511\",\"21520-21535\",\"22544-22559\",\"23568-23583\",\"24592-24607\",\"25616-25631\",\"26640-26655\",\"27664-27679\",\"28688-28703\",\"29712-29727\",\"30736-30751\",\"31760-31775\",\"32784-32799\",\"33808-33823\",\"34832-34847\",\"35856-35871\",\"36880-36895\",\"37904-37919\",\"38928-38943\",\"39952-39967\",\"40976-40991\",\"42000-42015\",\"43024-43039\",\"44048-44063\",\"45072-45087\",\"46096-46111\",\"47120-47135\",\"48144-48159\",\"49168-49183\",\"50192-50207\",\"51216-51231\",\"52240-52255\",\"53264-53279\",\"54288-54303\",\"55312-55327\",\"56336-56351\",\"57360-57375\",\"58384-58399\",\"59408-59423\",\"60432-60447\",\"61456-61471\",\"62480-62495\",\"63504-63519\",\"64528-64543\"],\"port_count\":1008}",
        "{\"time\":\"1999-12-31T23:59:59.999Z\",\"time_ms\":946684799999,\"event\":\"lease_allocated\",\"subscriber\":\"cust-b\",\"cpe\":[\"198.51.100.6/32\"],\"address\":\"100.64.0.3\",\"psid\":64}",
        "{\"time\":\"1970-01-01T00:00:00.000Z\",\"time_ms\":0,\"event\":\"lease_held\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"address\":\"100.64.0.3\",\"psid\":1,\"ports\":[\"1040-1055\",\"2064-2079\",\"3088-3103\",\"4112-4127\",\"5136-5151\",\"6160-6175\",\"7184-7199\",\"8208-8223\",\"9232-9247\",\"10256-10271\",\"11280-11295\",\"12304-12319\",\"13328-13343\",\"14352-14367\",\"15376-15391\",\"16400-16415\",\"17424-17439\",\"18448-18463\",\"19472-19487\",\"20496-20511\",\"21520-21535\",\"22544-22559\",\"23568-23583\",\"24592-24607\",\"25616-25631\",\"26640-26655\",\"27664-27679\",\"28688-28703\",\"29712-29727\",\"30736-30751\",\"31760-31775\",\"32784-32799\",\"33808-33823\",\"34832-34847\",\"35856-35871\",\"36880-36895\",\"37904-37919\",\"38928-38943\",\"39952-39967\",\"40976-40991\",\"42000-42015\",\"43024-43039\",\"44048-44063\",\"45072-45087\",\"46096-46111\",\"47120-47135\",\"48144-48159\",\"49168-49183\",\"50192-50207\",\"51216-51231\",\"52240-52255\",\"53264-53279\",\"54288-54303\",\"55312-55327\",\"56336-56351\",\"57360-57375\",\"58384-58399\",\"59408-59423\",\"60432-60447\",\"61456-61471\",\"62480-62495\",\"63504-63519\",\"64528-64543\"],\"port_count\":1008}",
        "{\"time\":\"2025-12-07T11:06:40.000Z\",\"time_ms\":1765105600000,\"event\":\"pool_exhausted\",\"subscriber\":\"cust-b\",\"cpe\":[\"198.51.100.6/32\"]}",
        "{\"time\":\"2025-12-07T11:06:40.001Z\",\"time_ms\":1765105600001,\"event\":\"port_set_exhausted\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"protocol\":\"udp\",\"address\":\"100.64.0.1\",\"psid\":5}",
        "{\"time\":\"2025-12-07T11:06:40.010Z\",\"time_ms\":1765105600010,\"event\":\"port_set_exhausted\",\"subscriber\":\"203.0.113.9/32\",\"cpe\":[\"203.0.113.9/32\"],\"protocol\":\"tcp\"}",
        "{\"time\":\"2025-12-07T11:08:20.100Z\",\"time_ms\":1765105700100,\"event\":\"session_created\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"protocol\":\"tcp\",\"cpe_endpoint\":\"198.51.100.2:40001\",\"external\":\"100.64.0.1:1029\",\"remote\":\"203.0.113.2:443\"}",
        "{\"time\":\"2025-12-07T11:08:20.200Z\",\"time_ms\":1765105700200,\"event\":\"session_deleted\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"protocol\":\"udp\",\"cpe_endpoint\":\"[2001:db8:1:200::5]:5353\",\"external\":\"100.64.0.1:1030\",\"remote\":\"[2001:db8:ff::1:0:2]:53\"}",
        "{\"time\":\"2025-12-07T11:08:20.201Z\",\"time_ms\":1765105700201,\"event\":\"session_created\",\"subscriber\":\"203.0.113.9/32\",\"cpe\":[\"203.0.113.9/32\"],\"protocol\":\"udp\",\"cpe_endpoint\":\"[::ffff:203.0.113.9]:1\",\"external\":\"100.64.0.2:65535\",\"remote\":\"[::]:0\"}",
        "{\"time\":\"2025-12-07T11:10:00.000Z\",\"time_ms\":1765105800000,\"event\":\"mapping_created\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"protocol\":\"tcp\",\"address\":\"100.64.0.1\",\"ports\":\"1029-1031\",\"port_count\":3,\"internal_address\":\"192.168.1.10\",\"internal_ports\":\"8080-8082\",\"cpe_address\":\"198.51.100.2\",\"expires\":\"2025-12-07T12:05:12.345Z\"}",
        "{\"time\":\"2025-12-07T11:10:00.001Z\",\"time_ms\":1765105800001,\"event\":\"mapping_renewed\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"protocol\":\"udp\",\"address\":\"100.64.0.1\",\"ports\":\"1040-1040\",\"port_count\":1,\"internal_address\":\"fd00::10\",\"internal_ports\":\"65535-65535\",\"cpe_address\":\"2001:db8:1:200::1\",\"expires\":\"2025-12-07T12:06:40.000Z\"}",
        "{\"time\":\"2025-12-07T11:10:00.002Z\",\"time_ms\":1765105800002,\"event\":\"mapping_deleted\",\"subscriber\":\"cust-b\",\"cpe\":[\"198.51.100.6/32\"],\"protocol\":\"tcp\",\"address\":\"100.64.0.1\",\"ports\":\"2048-2063\",\"port_count\":16,\"internal_address\":\"192.168.1.11\",\"internal_ports\":\"22-37\",\"cpe_address\":\"198.51.100.6\",\"expires\":\"2025-12-07T11:10:00.002Z\",\"filters\":[\"203.0.113.0/24 port 443\",\"2001:db8::/32 port 0\"]}",
        "{\"time\":\"2025-12-07T11:10:00.003Z\",\"time_ms\":1765105800003,\"event\":\"mapping_expired\",\"subscriber\":\"odd\\\"name\\\\x]\\u0001\\t\\n\\r\\u001f\u{e9}]\u{301}\",\"cpe\":[\"odd\\\"name\\\\x]\\u0001\\t\\n\\r\\u001f\u{e9}]\u{301}\"],\"protocol\":\"udp\",\"address\":\"100.64.0.1\",\"ports\":\"3000-3001\",\"port_count\":2,\"internal_address\":\"192.168.1.12\",\"internal_ports\":\"3000-3001\",\"cpe_address\":\"198.51.100.9\",\"expires\":\"2025-12-07T11:10:00.003Z\"}",
    ]
    static let goldenSyslog: [String] = [
        "<134>1 2025-12-07T11:05:12.345Z {host} plainmode {pid} LEASE-ALLOCATED [plainmode@32473 event=\"lease_allocated\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" address=\"100.64.0.1\" psid=\"5\" ports=\"1104-1119 2128-2143 3152-3167 4176-4191 5200-5215 6224-6239 7248-7263 8272-8287 9296-9311 10320-10335 11344-11359 12368-12383 13392-13407 14416-14431 15440-15455 16464-16479 17488-17503 18512-18527 19536-19551 20560-20575 21584-21599 22608-22623 23632-23647 24656-24671 25680-25695 26704-26719 27728-27743 28752-28767 29776-29791 30800-30815 31824-31839 32848-32863 33872-33887 34896-34911 35920-35935 36944-36959 37968-37983 38992-39007 40016-40031 41040-41055 42064-42079 43088-43103 44112-44127 45136-45151 46160-46175 47184-47199 48208-48223 49232-49247 50256-50271 51280-51295 52304-52319 53328-53343 54352-54367 55376-55391 56400-56415 57424-57439 58448-58463 59472-59487 60496-60511 61520-61535 62544-62559 63568-63583 64592-64607\" port_count=\"1008\"] lease_allocated",
        "<134>1 2025-12-07T11:05:12.999Z {host} plainmode {pid} LEASE-RENEWED [plainmode@32473 event=\"lease_renewed\" subscriber=\"cust-b\" cpe=\"198.51.100.6/32\" address=\"100.64.0.1\" psid=\"63\" ports=\"2032-2047 3056-3071 4080-4095 5104-5119 6128-6143 7152-7167 8176-8191 9200-9215 10224-10239 11248-11263 12272-12287 13296-13311 14320-14335 15344-15359 16368-16383 17392-17407 18416-18431 19440-19455 20464-20479 21488-21503 22512-22527 23536-23551 24560-24575 25584-25599 26608-26623 27632-27647 28656-28671 29680-29695 30704-30719 31728-31743 32752-32767 33776-33791 34800-34815 35824-35839 36848-36863 37872-37887 38896-38911 39920-39935 40944-40959 41968-41983 42992-43007 44016-44031 45040-45055 46064-46079 47088-47103 48112-48127 49136-49151 50160-50175 51184-51199 52208-52223 53232-53247 54256-54271 55280-55295 56304-56319 57328-57343 58352-58367 59376-59391 60400-60415 61424-61439 62448-62463 63472-63487 64496-64511 65520-65535\" port_count=\"1008\"] lease_renewed",
        "<134>1 2025-12-07T11:05:13.007Z {host} plainmode {pid} LEASE-RELEASED [plainmode@32473 event=\"lease_released\" subscriber=\"odd\\\"name\\\\x\\]\u{1}\t\n\r\u{1f}\u{e9}]\u{301}\" cpe=\"odd\\\"name\\\\x\\]\u{1}\t\n\r\u{1f}\u{e9}]\u{301}\" address=\"100.64.0.2\" psid=\"0\" ports=\"1024-1039 2048-2063 3072-3087 4096-4111 5120-5135 6144-6159 7168-7183 8192-8207 9216-9231 10240-10255 11264-11279 12288-12303 13312-13327 14336-14351 15360-15375 16384-16399 17408-17423 18432-18447 19456-19471 20480-20495 21504-21519 22528-22543 23552-23567 24576-24591 25600-25615 26624-26639 27648-27663 28672-28687 29696-29711 30720-30735 31744-31759 32768-32783 33792-33807 34816-34831 35840-35855 36864-36879 37888-37903 38912-38927 39936-39951 40960-40975 41984-41999 43008-43023 44032-44047 45056-45071 46080-46095 47104-47119 48128-48143 49152-49167 50176-50191 51200-51215 52224-52239 53248-53263 54272-54287 55296-55311 56320-56335 57344-57359 58368-58383 59392-59407 60416-60431 61440-61455 62464-62479 63488-63503 64512-64527\" port_count=\"1008\"] lease_released",
        "<134>1 2025-12-07T11:05:13.007Z {host} plainmode {pid} LEASE-RELEASED [plainmode@32473 event=\"lease_released\" subscriber=\"203.0.113.9/32\" cpe=\"203.0.113.9/32\" address=\"100.64.0.2\" psid=\"1\" ports=\"1040-1055 2064-2079 3088-3103 4112-4127 5136-5151 6160-6175 7184-7199 8208-8223 9232-9247 10256-10271 11280-11295 12304-12319 13328-13343 14352-14367 15376-15391 16400-16415 17424-17439 18448-18463 19472-19487 20496-20511 21520-21535 22544-22559 23568-23583 24592-24607 25616-25631 26640-26655 27664-27679 28688-28703 29712-29727 30736-30751 31760-31775 32784-32799 33808-33823 34832-34847 35856-35871 36880-36895 37904-37919 38928-38943 39952-39967 40976-40991 42000-42015 43024-43039 44048-44063 45072-45087 46096-46111 47120-47135 48144-48159 49168-49183 50192-50207 51216-51231 52240-52255 53264-53279 54288-54303 55312-55327 56336-56351 57360-57375 58384-58399 59408-59423 60432-60447 61456-61471 62480-62495 63504-63519 64528-64543\" port_count=\"1008\"] lease_released",
        "<134>1 1999-12-31T23:59:59.999Z {host} plainmode {pid} LEASE-ALLOCATED [plainmode@32473 event=\"lease_allocated\" subscriber=\"cust-b\" cpe=\"198.51.100.6/32\" address=\"100.64.0.3\" psid=\"64\"] lease_allocated",
        "<134>1 1970-01-01T00:00:00.000Z {host} plainmode {pid} LEASE-HELD [plainmode@32473 event=\"lease_held\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" address=\"100.64.0.3\" psid=\"1\" ports=\"1040-1055 2064-2079 3088-3103 4112-4127 5136-5151 6160-6175 7184-7199 8208-8223 9232-9247 10256-10271 11280-11295 12304-12319 13328-13343 14352-14367 15376-15391 16400-16415 17424-17439 18448-18463 19472-19487 20496-20511 21520-21535 22544-22559 23568-23583 24592-24607 25616-25631 26640-26655 27664-27679 28688-28703 29712-29727 30736-30751 31760-31775 32784-32799 33808-33823 34832-34847 35856-35871 36880-36895 37904-37919 38928-38943 39952-39967 40976-40991 42000-42015 43024-43039 44048-44063 45072-45087 46096-46111 47120-47135 48144-48159 49168-49183 50192-50207 51216-51231 52240-52255 53264-53279 54288-54303 55312-55327 56336-56351 57360-57375 58384-58399 59408-59423 60432-60447 61456-61471 62480-62495 63504-63519 64528-64543\" port_count=\"1008\"] lease_held",
        "<134>1 2025-12-07T11:06:40.000Z {host} plainmode {pid} POOL-EXHAUSTED [plainmode@32473 event=\"pool_exhausted\" subscriber=\"cust-b\" cpe=\"198.51.100.6/32\"] pool_exhausted",
        "<134>1 2025-12-07T11:06:40.001Z {host} plainmode {pid} PORT-SET-EXHAUSTED [plainmode@32473 event=\"port_set_exhausted\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" protocol=\"udp\" address=\"100.64.0.1\" psid=\"5\"] port_set_exhausted",
        "<134>1 2025-12-07T11:06:40.010Z {host} plainmode {pid} PORT-SET-EXHAUSTED [plainmode@32473 event=\"port_set_exhausted\" subscriber=\"203.0.113.9/32\" cpe=\"203.0.113.9/32\" protocol=\"tcp\"] port_set_exhausted",
        "<134>1 2025-12-07T11:08:20.100Z {host} plainmode {pid} SESSION-CREATED [plainmode@32473 event=\"session_created\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" protocol=\"tcp\" cpe_endpoint=\"198.51.100.2:40001\" external=\"100.64.0.1:1029\" remote=\"203.0.113.2:443\"] session_created",
        "<134>1 2025-12-07T11:08:20.200Z {host} plainmode {pid} SESSION-DELETED [plainmode@32473 event=\"session_deleted\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" protocol=\"udp\" cpe_endpoint=\"[2001:db8:1:200::5\\]:5353\" external=\"100.64.0.1:1030\" remote=\"[2001:db8:ff::1:0:2\\]:53\"] session_deleted",
        "<134>1 2025-12-07T11:08:20.201Z {host} plainmode {pid} SESSION-CREATED [plainmode@32473 event=\"session_created\" subscriber=\"203.0.113.9/32\" cpe=\"203.0.113.9/32\" protocol=\"udp\" cpe_endpoint=\"[::ffff:203.0.113.9\\]:1\" external=\"100.64.0.2:65535\" remote=\"[::\\]:0\"] session_created",
        "<134>1 2025-12-07T11:10:00.000Z {host} plainmode {pid} MAPPING-CREATED [plainmode@32473 event=\"mapping_created\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" protocol=\"tcp\" address=\"100.64.0.1\" ports=\"1029-1031\" port_count=\"3\" internal_address=\"192.168.1.10\" internal_ports=\"8080-8082\" cpe_address=\"198.51.100.2\" expires=\"2025-12-07T12:05:12.345Z\"] mapping_created",
        "<134>1 2025-12-07T11:10:00.001Z {host} plainmode {pid} MAPPING-RENEWED [plainmode@32473 event=\"mapping_renewed\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" protocol=\"udp\" address=\"100.64.0.1\" ports=\"1040-1040\" port_count=\"1\" internal_address=\"fd00::10\" internal_ports=\"65535-65535\" cpe_address=\"2001:db8:1:200::1\" expires=\"2025-12-07T12:06:40.000Z\"] mapping_renewed",
        "<134>1 2025-12-07T11:10:00.002Z {host} plainmode {pid} MAPPING-DELETED [plainmode@32473 event=\"mapping_deleted\" subscriber=\"cust-b\" cpe=\"198.51.100.6/32\" protocol=\"tcp\" address=\"100.64.0.1\" ports=\"2048-2063\" port_count=\"16\" internal_address=\"192.168.1.11\" internal_ports=\"22-37\" cpe_address=\"198.51.100.6\" expires=\"2025-12-07T11:10:00.002Z\" filters=\"203.0.113.0/24 port 443 2001:db8::/32 port 0\"] mapping_deleted",
        "<134>1 2025-12-07T11:10:00.003Z {host} plainmode {pid} MAPPING-EXPIRED [plainmode@32473 event=\"mapping_expired\" subscriber=\"odd\\\"name\\\\x\\]\u{1}\t\n\r\u{1f}\u{e9}]\u{301}\" cpe=\"odd\\\"name\\\\x\\]\u{1}\t\n\r\u{1f}\u{e9}]\u{301}\" protocol=\"udp\" address=\"100.64.0.1\" ports=\"3000-3001\" port_count=\"2\" internal_address=\"192.168.1.12\" internal_ports=\"3000-3001\" cpe_address=\"198.51.100.9\" expires=\"2025-12-07T11:10:00.003Z\"] mapping_expired",
    ]
    static let goldenJSONWithoutGeometry: [String] = [
        "{\"time\":\"2025-12-07T11:05:12.345Z\",\"time_ms\":1765105512345,\"event\":\"lease_allocated\",\"subscriber\":\"cust-a\",\"cpe\":[\"198.51.100.2/32\",\"2001:db8:1:200::/56\"],\"address\":\"100.64.0.1\",\"psid\":5}",
        "{\"time\":\"2025-12-07T11:05:12.999Z\",\"time_ms\":1765105512999,\"event\":\"lease_renewed\",\"subscriber\":\"cust-b\",\"cpe\":[\"198.51.100.6/32\"],\"address\":\"100.64.0.1\",\"psid\":63}",
    ]
    static let goldenSyslogWithoutGeometry: [String] = [
        "<134>1 2025-12-07T11:05:12.345Z {host} plainmode {pid} LEASE-ALLOCATED [plainmode@32473 event=\"lease_allocated\" subscriber=\"cust-a\" cpe=\"198.51.100.2/32 2001:db8:1:200::/56\" address=\"100.64.0.1\" psid=\"5\"] lease_allocated",
        "<134>1 2025-12-07T11:05:12.999Z {host} plainmode {pid} LEASE-RENEWED [plainmode@32473 event=\"lease_renewed\" subscriber=\"cust-b\" cpe=\"198.51.100.6/32\" address=\"100.64.0.1\" psid=\"63\"] lease_renewed",
    ]
}
