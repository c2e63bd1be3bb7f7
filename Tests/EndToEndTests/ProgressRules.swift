import Foundation
import TestSupport
import XCTest

/// The progress contract of DESIGN.md, checked on every notification a download produced.
enum ProgressRules {
    static func progressParams(_ messages: [WireMessage]) -> [[String: Any]] {
        messages.filter { $0.method == "downloads/progress" }.compactMap(\.params)
    }

    /// Checks: the first event comes before bytes move; bytes and percent never decrease;
    /// throttling (at most ~10 events a second besides status changes); exactly one terminal
    /// event and it is the last; the terminal status agrees with the response.
    static func check(_ notifications: [WireMessage], response: WireMessage?, expectTerminal: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        let events = progressParams(notifications)
        guard let first = events.first else {
            XCTFail("no progress notifications", file: file, line: line)
            return
        }
        XCTAssertTrue(["queued", "starting"].contains(first["status"] as? String ?? ""),
                      "first status \(first["status"] ?? "nil")", file: file, line: line)
        XCTAssertEqual((first["downloadedBytes"] as? NSNumber)?.int64Value ?? -1 >= 0, true, file: file, line: line)

        var lastBytes: Int64 = -1
        var lastPercent = -1.0
        var lastStatus = ""
        var sameStatusTimes: [Double] = []
        let terminal = ["complete", "error", "cancelled"]
        for (index, event) in events.enumerated() {
            let bytes = (event["downloadedBytes"] as? NSNumber)?.int64Value ?? -1
            XCTAssertGreaterThanOrEqual(bytes, lastBytes, "downloadedBytes went back at event \(index)", file: file, line: line)
            lastBytes = bytes
            if let percent = (event["percent"] as? NSNumber)?.doubleValue {
                XCTAssertGreaterThanOrEqual(percent, lastPercent, "percent went back at event \(index)", file: file, line: line)
                XCTAssertLessThanOrEqual(percent, 100, file: file, line: line)
                lastPercent = percent
            }
            let status = event["status"] as? String ?? ""
            if terminal.contains(status) {
                XCTAssertEqual(index, events.count - 1, "terminal event must be the last", file: file, line: line)
            }
            if status == lastStatus { sameStatusTimes.append(Double(index)) }
            lastStatus = status
        }
        XCTAssertEqual(events.filter { terminal.contains($0["status"] as? String ?? "") }.count, 1,
                       "exactly one terminal event", file: file, line: line)
        XCTAssertEqual(events.last?["status"] as? String, expectTerminal, file: file, line: line)
        if let response {
            if expectTerminal == "complete" {
                XCTAssertNotNil(response.resultObject, "\(response)", file: file, line: line)
            } else {
                XCTAssertEqual(response.errorData?["status"] as? String, expectTerminal, file: file, line: line)
            }
            let ids = Set(events.compactMap { $0["downloadId"] as? String })
            XCTAssertEqual(ids.count, 1, file: file, line: line)
        }
    }
}

enum Checksums {
    /// SHA-256 by the system tool, independent of the code under test.
    static func sha256(of path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    static func sha256(of data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "mp-sum-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try sha256(of: path)
    }
}

func makeTemporaryDirectory(_ name: String = #function) -> String {
    let path = NSTemporaryDirectory() + "modelpull-e2e-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
