import Testing

@testable import NightjarHTTP

/// The origin's back-off gate: while a portal's Retry-After runs, nobody sends to it; when it is
/// over, the requests held at the gate go in the order they reached it, so the request that was
/// told to wait (it comes back to the gate first) is not overtaken by those sent meanwhile.
@Suite("Origin gate")
struct OriginGateTests {
    actor Order {
        var started: [Int] = []
        func add(_ number: Int) { started.append(number) }
    }

    @Test func theFirstRequestHeldAtThePausedGateGoesFirst() async throws {
        let origin = "https://portal.example"
        for _ in 0..<3 {
            let limiter = OriginLimiter(defaultLimit: .init(concurrency: 1, requestsPerSecond: 1_000))
            let pause = ContinuousClock.now + .seconds(2)
            await limiter.pause(origin, until: pause)
            let order = Order()
            let allHeld = await withTaskGroup(of: Void.self) { group in
                for number in 0..<8 {
                    group.addTask {
                        await limiter.acquire(origin)
                        #expect(ContinuousClock.now >= pause, "request \(number) went before the pause was over")
                        await order.add(number)
                        await limiter.release(origin)
                    }
                    // Each reaches the gate before the next is sent.
                    while await limiter.heldAtGate(origin) < number + 1, ContinuousClock.now < pause {
                        await Task.yield()
                    }
                }
                // All eight held before the gate opened (a starved machine may let the pause run out first).
                return await limiter.heldAtGate(origin) == 8
            }
            // One at a time (concurrency 1): every request waits its turn in the order it came.
            if allHeld { #expect(await order.started == Array(0..<8)) }
        }
    }

    @Test func aPauseExtendedWhileRequestsWaitKeepsThemWaiting() async throws {
        let origin = "https://portal.example"
        let limiter = OriginLimiter()
        let first = ContinuousClock.now + .seconds(1)
        let extended = ContinuousClock.now + .milliseconds(1_500)
        await limiter.pause(origin, until: first)
        let waiting = Task {
            await limiter.acquire(origin)
            return ContinuousClock.now
        }
        while await limiter.heldAtGate(origin) < 1, ContinuousClock.now < first { await Task.yield() }
        await limiter.pause(origin, until: extended)
        // The gate can open no earlier than `first`: an extension made before then must hold.
        let extendedBeforeTheGateOpened = ContinuousClock.now < first
        let started = await waiting.value
        #expect(started >= (extendedBeforeTheGateOpened ? extended : first))
        await limiter.release(origin)
    }
}
