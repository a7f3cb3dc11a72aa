import LockboxCore
import Testing

/// How checks form groups: at once when a slot is free, else with everything waiting when a
/// group ends, never more than the size, and refused only past the waiting bound.
@Suite struct GroupCommitTests {
    enum Step {
        /// A member of caller "a".
        case arrive(Int)
        case arriveFrom(String, Int)
        case end
    }

    enum Outcome: Equatable {
        case start([Int])
        case wait
        case refuse(Int)
        case next([Int]?)
    }

    static func run(_ configuration: GroupCommitConfiguration, _ steps: [Step]) -> [Outcome] {
        var queue = GroupCommitQueue<Int>(configuration)
        return steps.map { step in
            switch step {
            case .arrive, .arriveFrom:
                let (caller, member): (String, Int)
                switch step {
                case .arriveFrom(let who, let number): (caller, member) = (who, number)
                case .arrive(let number): (caller, member) = ("a", number)
                case .end: fatalError("unreachable")
                }
                switch queue.arrive(member, caller: caller) {
                case .start(let group): return .start(group)
                case .wait: return .wait
                case .refuse(let member): return .refuse(member)
                }
            case .end:
                return .next(queue.released())
            }
        }
    }

    static let cases: [(name: String, configuration: GroupCommitConfiguration, steps: [Step], expected: [Outcome])] = [
        (
            "idle: each check starts its own group at once",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 1),
            [.arrive(1), .end, .arrive(2), .end],
            [.start([1]), .next(nil), .start([2]), .next(nil)]
        ),
        (
            "busy: those that arrive meanwhile form the next group, in order",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 1),
            [.arrive(1), .arrive(2), .arrive(3), .arrive(4), .end, .end],
            [.start([1]), .wait, .wait, .wait, .next([2, 3, 4]), .next(nil)]
        ),
        (
            "a group is never larger than its size",
            GroupCommitConfiguration(maxSize: 2, maxInFlight: 1),
            [.arrive(1), .arrive(2), .arrive(3), .arrive(4), .end, .end, .end],
            [.start([1]), .wait, .wait, .wait, .next([2, 3]), .next([4]), .next(nil)]
        ),
        (
            "two groups may run at once",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 2),
            [.arrive(1), .arrive(2), .arrive(3), .end, .arrive(4), .end, .end],
            [.start([1]), .start([2]), .wait, .next([3]), .wait, .next([4]), .next(nil)]
        ),
        (
            "past the waiting bound a check is refused, not held",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 1, maxWaiting: 2),
            [.arrive(1), .arrive(2), .arrive(3), .arrive(4), .end, .arrive(5)],
            [.start([1]), .wait, .wait, .refuse(4), .next([2, 3]), .wait]
        ),
        (
            "callers take turns: one caller's flood does not fill the group another waits for",
            GroupCommitConfiguration(maxSize: 2, maxInFlight: 1),
            [.arrive(1), .arrive(2), .arrive(3), .arrive(4), .arriveFrom("b", 10), .end, .end, .end],
            [.start([1]), .wait, .wait, .wait, .wait, .next([2, 10]), .next([3, 4]), .next(nil)]
        ),
        (
            "the next group starts its round after the last caller served",
            GroupCommitConfiguration(maxSize: 3, maxInFlight: 1),
            [
                .arrive(1), .arrive(2), .arrive(3), .arriveFrom("b", 10), .arriveFrom("b", 11),
                .arriveFrom("c", 20), .arriveFrom("c", 21), .end, .end, .end,
            ],
            [
                .start([1]), .wait, .wait, .wait, .wait, .wait, .wait, .next([2, 10, 20]), .next([3, 11, 21]),
                .next(nil),
            ]
        ),
        (
            "past its own bound a caller is refused while others still wait",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 1, maxWaiting: 10, maxWaitingPerCaller: 2),
            [.arrive(1), .arrive(2), .arrive(3), .arrive(4), .arriveFrom("b", 5), .end],
            [.start([1]), .wait, .wait, .refuse(4), .wait, .next([2, 5, 3])]
        ),
        (
            "a freed slot goes to the next arrival at once",
            GroupCommitConfiguration(maxSize: 8, maxInFlight: 2),
            [.arrive(1), .arrive(2), .end, .arrive(3)],
            [.start([1]), .start([2]), .next(nil), .start([3])]
        ),
    ]

    @Test(arguments: cases.indices)
    func groups(_ index: Int) {
        let c = Self.cases[index]
        #expect(Self.run(c.configuration, c.steps) == c.expected, "\(c.name)")
    }
}
