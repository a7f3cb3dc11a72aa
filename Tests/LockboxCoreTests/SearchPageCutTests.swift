import LockboxCore
import Testing

/// Where a search page ends: after the page size when more matched; below the lowest id read
/// when the read stopped at its limit (even with no match); else the search is done.
@Suite struct SearchPageCutTests {
    static let cases: [(name: String, matches: [Int64], pageSize: Int, scannedTo: Int64?, count: Int, next: Int64?)] = [
        ("more matched than a page", [90, 80, 70], 2, nil, 2, 80),
        ("more matched, the read also stopped", [90, 80, 70], 2, 50, 2, 80),
        ("a short page, the read reached the end", [90], 2, nil, 1, nil),
        ("a short page, the read stopped at its limit", [90], 2, 50, 1, 50),
        ("nothing matched, the read stopped at its limit", [], 2, 50, 0, 50),
        ("nothing matched, nothing more to read", [], 2, nil, 0, nil),
        ("exactly a page, nothing more", [90, 80], 2, nil, 2, nil),
    ]

    @Test(arguments: cases.indices)
    func cut(_ index: Int) {
        let c = Self.cases[index]
        let cut = SearchPageCut(matches: c.matches, pageSize: c.pageSize, scannedTo: c.scannedTo)
        #expect(cut.count == c.count, "\(c.name)")
        #expect(cut.nextBefore == c.next, "\(c.name)")
    }
}
