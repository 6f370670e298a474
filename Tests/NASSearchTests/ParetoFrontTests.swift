import XCTest
import NASSearch

/// ParetoFront on hand-made point sets whose fronts and crowding distances are worked out below.
/// Every objective is minimised.
final class ParetoFrontTests: XCTestCase {

    // MARK: - Dominance

    func testDominanceDefinition() {
        XCTAssertTrue(ParetoFront.dominates([1, 2], [2, 3]))    // better in both
        XCTAssertTrue(ParetoFront.dominates([1, 3], [1, 4]))    // tie in one, better in the other
        XCTAssertFalse(ParetoFront.dominates([1, 4], [1, 3]))
        XCTAssertFalse(ParetoFront.dominates([1, 5], [2, 3]))   // trade-off: neither dominates
        XCTAssertFalse(ParetoFront.dominates([2, 3], [1, 5]))
        XCTAssertFalse(ParetoFront.dominates([2, 2], [2, 2]))   // equal: not dominating
        XCTAssertFalse(ParetoFront.dominates([], []))
        XCTAssertTrue(ParetoFront.dominates([0, -.infinity], [0, 0]))
    }

    // MARK: - Non-dominated sort, 2 objectives

    /// Eight points (index: (f1, f2)):
    ///
    ///     f2
    ///      6 |   3           7
    ///      5 | 0       6
    ///      4 |     4
    ///      3 |   1
    ///      2 |         5
    ///      1 |       2
    ///        +------------------ f1
    ///          1 2 3 4 5 6
    ///
    /// Front 0: 0 (1,5), 1 (2,3), 2 (4,1) — nothing lies to the lower-left of any of them.
    /// Front 1: 3 (2,6) ≻ by 0; 4 (3,4) ≻ by 1; 5 (5,2) ≻ by 2; among {3,4,5} none dominates another.
    /// Front 2: 6 (4,5) ≻ by 4 (3,4).
    /// Front 3: 7 (6,6) ≻ by 6.
    func testTwoObjectiveFronts() {
        let points: [[Double]] = [[1, 5], [2, 3], [4, 1], [2, 6], [3, 4], [5, 2], [4, 5], [6, 6]]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points), [[0, 1, 2], [3, 4, 5], [6], [7]])
    }

    /// Same set, shuffled: fronts are still listed in ascending index order.
    func testIndicesWithinAFrontAreAscending() {
        // new index: old point  → 0:(6,6) 1:(5,2) 2:(1,5) 3:(4,5) 4:(2,6) 5:(4,1) 6:(3,4) 7:(2,3)
        let points: [[Double]] = [[6, 6], [5, 2], [1, 5], [4, 5], [2, 6], [4, 1], [3, 4], [2, 3]]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points), [[2, 5, 7], [1, 4, 6], [3], [0]])
    }

    /// 0 (1,2) and 1 (1,2) are equal → mutually non-dominating; 2 (2,1) trades off with them → front 0.
    /// 3 (2,2) and 4 (2,2) are equal, both dominated by (1,2) → front 1 together. 5 (3,3) → front 2.
    /// 6 (1,3) ties 0 on f1 and is worse on f2 → dominated by 0 and 1 only → front 1.
    func testTiesAndDuplicatesShareAFront() {
        let points: [[Double]] = [[1, 2], [1, 2], [2, 1], [2, 2], [2, 2], [3, 3], [1, 3]]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points), [[0, 1, 2], [3, 4, 6], [5]])
        XCTAssertEqual(ParetoFront.nonDominatedSort([[4, 4], [4, 4], [4, 4]]), [[0, 1, 2]])
    }

    /// Three objectives:
    ///   0 (1,2,3), 1 (3,2,1), 2 (2,2,2): pairwise trade-offs → front 0.
    ///   3 (2,3,3) ≻ by 0 (1≤2, 2≤3, 3≤3); 5 (1,2,4) ≻ by 0 (equal but f3 4 > 3); 3 vs 5 trade off → front 1.
    ///   4 (3,3,3) ≻ by 0,1,2 and by 3 (2,3,3) → front 2.   6 (4,4,4) ≻ by everyone → front 3.
    func testThreeObjectives() {
        let points: [[Double]] = [[1, 2, 3], [3, 2, 1], [2, 2, 2], [2, 3, 3], [3, 3, 3], [1, 2, 4], [4, 4, 4]]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points), [[0, 1, 2], [3, 5], [4], [6]])
    }

    func testEmptyAndSingleInput() {
        XCTAssertEqual(ParetoFront.nonDominatedSort([]), [])
        XCTAssertEqual(ParetoFront.nonDominatedSort([], violations: []), [])
        XCTAssertEqual(ParetoFront.nonDominatedSort([[3, 1]]), [[0]])
        XCTAssertEqual(ParetoFront.crowdingDistance([], front: []), [])
    }

    // MARK: - NaN

    /// NaN never dominates nor is dominated; points with a NaN objective rank worst, in one last front.
    /// 0 (1,1) ≻ 2 (2,2); 1 (NaN,0) and 3 (0,NaN) would beat (1,1) in their non-NaN objective but go last.
    func testNaNRanksWorst() {
        XCTAssertFalse(ParetoFront.dominates([.nan, 0], [1, 1]))
        XCTAssertFalse(ParetoFront.dominates([1, 1], [.nan, 2]))
        let points: [[Double]] = [[1, 1], [.nan, 0], [2, 2], [0, .nan]]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points), [[0], [2], [1, 3]])
        XCTAssertEqual(ParetoFront.nonDominatedSort([[.nan, .nan]]), [[0]])
        // Constrained sort: a NaN violation also ranks worst, even behind an infeasible point.
        XCTAssertEqual(ParetoFront.nonDominatedSort([[1, 1], [0, 0], [2, 2]], violations: [.nan, 0, 5]),
                       [[1], [2], [0]])
    }

    // MARK: - Crowding distance

    /// Five-point front with different objective ranges (f1 ∈ [0,10], f2 ∈ [0,20]), plus a point (99,99)
    /// that is not in the front and must be ignored. `front` lists them out of order.
    ///
    ///   by f1: (0,20) (1,12) (3,8) (6,2) (10,0)   range 10
    ///          (1,12): (3−0)/10 = 0.3    (3,8): (6−1)/10 = 0.5    (6,2): (10−3)/10 = 0.7
    ///   by f2: (10,0) (6,2) (3,8) (1,12) (0,20)   range 20
    ///          (6,2): (8−0)/20 = 0.4     (3,8): (12−2)/20 = 0.5   (1,12): (20−8)/20 = 0.6
    ///   totals: (1,12) 0.9, (3,8) 1.0, (6,2) 1.1; (0,20) and (10,0) are boundaries → +∞.
    /// Without normalisation f2 would weigh double; with it both objectives count alike.
    func testCrowdingDistanceByHand() {
        let points: [[Double]] = [[3, 8], [99, 99], [0, 20], [10, 0], [6, 2], [1, 12]]
        let front = [5, 0, 4, 2, 3]
        let d = ParetoFront.crowdingDistance(points, front: front)
        XCTAssertEqual(d.count, 5)
        XCTAssertEqual(d[0], 0.9, accuracy: 1e-12)   // (1,12)
        XCTAssertEqual(d[1], 1.0, accuracy: 1e-12)   // (3,8)
        XCTAssertEqual(d[2], 1.1, accuracy: 1e-12)   // (6,2)
        XCTAssertEqual(d[3], .infinity)               // (0,20)
        XCTAssertEqual(d[4], .infinity)               // (10,0)
    }

    func testCrowdingDistanceSmallFrontsAndZeroRange() {
        let points: [[Double]] = [[0, 5], [1, 5], [4, 5], [1, 1]]
        XCTAssertEqual(ParetoFront.crowdingDistance(points, front: [3]), [.infinity])
        XCTAssertEqual(ParetoFront.crowdingDistance(points, front: [0, 3]), [.infinity, .infinity])
        // f1: 0,1,4 → (1,5) gets (4−0)/4 = 1; f2 constant (range 0) → contributes 0 everywhere.
        XCTAssertEqual(ParetoFront.crowdingDistance(points, front: [0, 1, 2]), [.infinity, 1, .infinity])
        // All objectives constant → no boundaries, all 0.
        XCTAssertEqual(ParetoFront.crowdingDistance([[2, 2], [2, 2], [2, 2]], front: [0, 1, 2]), [0, 0, 0])
    }

    /// NaN in one objective: that objective skips the point. Front (0,3) (1,NaN) (2,1) (4,0):
    ///   f1: 0,1,2,4 range 4 → (1,·): (2−0)/4 = 0.5, (2,1): (4−1)/4 = 0.75; boundaries (0,3),(4,0) ∞.
    ///   f2 without NaN: (4,0) (2,1) (0,3) range 3 → (2,1): (3−0)/3 = 1; (1,NaN) gets 0.
    func testCrowdingDistanceSkipsNaNValues() {
        let points: [[Double]] = [[0, 3], [1, .nan], [2, 1], [4, 0]]
        let d = ParetoFront.crowdingDistance(points, front: [0, 1, 2, 3])
        XCTAssertEqual(d[0], .infinity)
        XCTAssertEqual(d[1], 0.5, accuracy: 1e-12)
        XCTAssertEqual(d[2], 1.75, accuracy: 1e-12)
        XCTAssertEqual(d[3], .infinity)
    }

    // MARK: - Constraint domination

    func testConstrainedDominationCases() {
        // Feasible beats infeasible even when the infeasible point has far better objectives.
        XCTAssertTrue(ParetoFront.constrainedDominates(a: [5, 5], violationA: 0, b: [1, 1], violationB: 0.5))
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [1, 1], violationA: 0.5, b: [5, 5], violationB: 0))
        // Two infeasible: the smaller violation wins, objectives ignored.
        XCTAssertTrue(ParetoFront.constrainedDominates(a: [9, 9], violationA: 0.2, b: [1, 1], violationB: 0.7))
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [1, 1], violationA: 0.7, b: [9, 9], violationB: 0.2))
        // Equal violation: neither.
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [1, 1], violationA: 2, b: [2, 2], violationB: 2))
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [2, 2], violationA: 2, b: [1, 1], violationB: 2))
        // Both feasible: plain Pareto dominance (negative violation counts as feasible).
        XCTAssertTrue(ParetoFront.constrainedDominates(a: [1, 2], violationA: 0, b: [2, 2], violationB: -1))
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [1, 3], violationA: 0, b: [2, 2], violationB: 0))
        XCTAssertFalse(ParetoFront.constrainedDominates(a: [2, 2], violationA: 0, b: [2, 2], violationB: 0))
    }

    /// index: objectives, violation
    ///   0: (1,1) v 2     1: (5,5) v 0     2: (4,4) v 0
    ///   3: (0,0) v 0.5   4: (3,6) v 0     5: (2,2) v 2
    /// Feasible {1,2,4}: (4,4) ≻ (5,5); (3,6) vs (4,4) trade off → front 0 {2,4}, front 1 {1}.
    /// Infeasible after all feasible, by violation: {3} (0.5), then {0,5} (both 2 → neither dominates,
    /// although (1,1) Pareto-dominates (2,2)).
    func testConstrainedSort() {
        let points: [[Double]] = [[1, 1], [5, 5], [4, 4], [0, 0], [3, 6], [2, 2]]
        let violations: [Double] = [2, 0, 0, 0.5, 0, 2]
        XCTAssertEqual(ParetoFront.nonDominatedSort(points, violations: violations), [[2, 4], [1], [3], [0, 5]])
        // With no violations the constrained sort is the plain sort.
        XCTAssertEqual(ParetoFront.nonDominatedSort(points, violations: Array(repeating: 0, count: 6)),
                       ParetoFront.nonDominatedSort(points))
    }
}
