import Foundation
import NightjarDocuments
import Testing

@testable import NightjarScript

/// Which bytes fit which `expect type`: one rule for portal downloads and source documents.
@Suite struct DocumentCheckTests {
    static let samples: [String: [UInt8]] = [
        "x12": Array(
            "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PAYEE          *261101*1200*U*00401*000000001*0*P*>~GS*RA*P*R*20261101*1200*1*X*004010~"
                .utf8),
        "xlsx": [0x50, 0x4B, 0x03, 0x04] + Array("....xl/workbook.xml....".utf8),
        "zip": [0x50, 0x4B, 0x03, 0x04] + Array("....readme.txt....".utf8),
        "pdf": Array("%PDF-1.7\n1 0 obj\n".utf8),
        "json": Array("{\"payments\": []}".utf8),
        "html": Array("<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body></body></html>".utf8),
        "xml": Array("<?xml version=\"1.0\"?><remittance/>".utf8),
        "csv": Array("invoice,amount\nINV-1,10.00\n".utf8),
    ]

    /// For each type, the samples that fit it; every other sample is refused with the type named.
    static let fitting: [DownloadType: Set<String>] = [
        .x12: ["x12"], .xlsx: ["xlsx"], .pdf: ["pdf"], .json: ["json"], .html: ["html"],
        .xml: ["xml", "html"], .csv: ["csv", "xml"], .text: ["csv", "xml"],
    ]

    @Test(arguments: DownloadType.allCases)
    func aDocumentFitsTheTypesThatNameItsFormat(type: DownloadType) {
        for (name, bytes) in Self.samples {
            let detected = DocumentFormat.detect(bytes)
            let mismatch = DocumentCheck.typeMismatch(bytes, detected: detected, expected: type)
            if Self.fitting[type]!.contains(name) {
                #expect(mismatch == nil, "\(name) as \(type)")
            } else {
                #expect(
                    mismatch == "`expect type \(type.rawValue)`, but it is \(detected.description)",
                    "\(name) as \(type)")
            }
        }
    }

    @Test func aSourceDocumentIsCheckedForEmptinessPagesAndType() {
        #expect(DocumentCheck.problem([], expected: .csv, allowPages: false) == "it is empty")
        #expect(
            DocumentCheck.problem(Self.samples["html"]!, expected: nil, allowPages: false)
                == "it is a web page (\"Down for maintenance\")")
        #expect(DocumentCheck.problem(Self.samples["html"]!, expected: nil, allowPages: true) == nil)
        #expect(
            DocumentCheck.problem(Self.samples["pdf"]!, expected: .csv, allowPages: false)
                == "`expect type csv`, but it is a PDF document")
        #expect(DocumentCheck.problem(Self.samples["pdf"]!, expected: nil, allowPages: false) == nil)
    }
}
