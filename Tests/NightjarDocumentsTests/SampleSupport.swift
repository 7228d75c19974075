import Foundation
import NightjarCore

@testable import NightjarDocuments

enum Samples {
    static func bytes(_ name: String) -> [UInt8] {
        let url = Bundle.module.url(forResource: "Samples", withExtension: nil)!.appendingPathComponent(name)
        return Array(try! Data(contentsOf: url))
    }

    static var names: [String] {
        let url = Bundle.module.url(forResource: "Samples", withExtension: nil)!
        return (try! FileManager.default.contentsOfDirectory(atPath: url.path)).filter { $0 != "SOURCES.md" }.sorted()
    }
}
