import Foundation
@testable import ModelPullCore
import XCTest

/// Every errno a write can meet maps to a kind and words a person can act on.
final class StorageFailureTests: XCTestCase {
    func testEachErrnoClassSaysWhatToDoAndNamesTheChosenFolder() {
        let path = "/data/models/.modelpull/m.bin.partial"
        for code in [EACCES, EPERM] {
            let failure = StorageFailure.from(errno: code, doing: "open", path: path)
            XCTAssertEqual(failure.kind, .storage)
            XCTAssertTrue(failure.message.contains("may not write in /data/models.") && failure.message.contains("`localDir`"),
                          failure.message)
        }
        let readOnly = StorageFailure.from(errno: EROFS, doing: "create the folder", path: "/mnt/ro/.modelpull")
        XCTAssertTrue(readOnly.message.contains("/mnt/ro is on a read-only filesystem"), readOnly.message)
        for code in [ENOSPC, EDQUOT] {
            XCTAssertEqual(StorageFailure.from(errno: code, doing: "write", path: path).kind, .diskFull)
        }
        let other = StorageFailure.from(errno: EIO, doing: "write", path: path)
        XCTAssertEqual(other.kind, .storage)
        XCTAssertTrue(other.message.contains(String(cString: strerror(EIO))), other.message)
    }

    func testFoundationFileErrorsRevealTheirPOSIXCode() {
        XCTAssertEqual(StorageFailure.posixCode(of: NSError(domain: NSPOSIXErrorDomain, code: Int(EROFS))), EROFS)
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError,
                              userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES))])
        XCTAssertEqual(StorageFailure.posixCode(of: wrapped), EACCES)
        XCTAssertEqual(StorageFailure.posixCode(of: NSError(domain: NSCocoaErrorDomain, code: NSFileWriteNoPermissionError)), EACCES)
        XCTAssertNil(StorageFailure.posixCode(of: NSError(domain: "other", code: 1)))
    }
}
