import Foundation
import Testing

@testable import NightjarLedger

/// The hand-off between the thread that decides batches and the one that stores them.
@Suite struct HandoffTests {
    struct Broken: Error, Equatable {}

    @Test func everyItemArrivesInOrderThenTheEnd() throws {
        let handoff = Handoff<Int>(limit: 2)
        let giver = Thread {
            for item in 0..<100 { _ = handoff.put(item) }
            handoff.finish()
        }
        giver.start()
        var taken: [Int] = []
        while let item = try handoff.take() { taken.append(item) }
        #expect(taken == Array(0..<100))
        #expect(!handoff.hasItems)
    }

    @Test func theGiversErrorReachesTheTakerAfterWhatWasGiven() throws {
        let handoff = Handoff<Int>(limit: 4)
        #expect(handoff.put(1))
        handoff.fail(Broken())
        #expect(handoff.hasItems)
        #expect(try handoff.take() == 1)
        #expect(throws: Broken.self) { try handoff.take() }
    }

    @Test func aTakerThatStopsReleasesAWaitingGiver() {
        let handoff = Handoff<Int>(limit: 1)
        #expect(handoff.put(1))
        let refused = LockedFlag()
        let giver = Thread {
            refused.set(!handoff.put(2))
        }
        giver.start()
        handoff.cancel()
        let deadline = Date().addingTimeInterval(10)
        while !refused.value && Date() < deadline { usleep(1000) }
        #expect(refused.value)
        #expect(!handoff.put(3))
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set(_ value: Bool) { lock.withLock { flag = value } }
    var value: Bool { lock.withLock { flag } }
}
