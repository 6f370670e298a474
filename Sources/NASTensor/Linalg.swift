import COpenBLAS

/// Dense linear algebra beyond GEMM, on LAPACK (OpenBLAS carries it).
///
/// The symmetric eigensolver is LAPACK's divide-and-conquer `?syevd` with jobz = "N" (eigenvalues only).
/// A symmetric matrix is its own transpose, so row-major storage is handed to the column-major routine
/// unchanged. OpenBLAS runs single-threaded (see `Engine`), so results are reproducible run to run.
public enum Linalg {
    /// Eigenvalues of the symmetric matrix `a` ([n, n]; only one triangle is read), in ascending order,
    /// by LAPACK `ssyevd` (values only). Workspace sizes come from a query call with lwork = −1 first.
    public static func symmetricEigenvalues(_ a: Tensor) -> [Float] {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1],
                     "Linalg.symmetricEigenvalues: needs a square matrix, got shape \(a.shape)")
        var values = a.scalars
        return symmetricEigenvalues(&values, n: a.shape[0])
    }

    /// Eigenvalues (ascending) of the symmetric n × n matrix stored row-major in `values`, which the
    /// solver overwrites (`ssyevd`, values only).
    static func symmetricEigenvalues(_ values: inout [Float], n: Int) -> [Float] {
        precondition(n >= 0 && values.count == n * n, "Linalg.symmetricEigenvalues: \(values.count) values for \(n) × \(n)")
        if n == 0 { return [] }
        _ = Engine.threads  // make sure OpenBLAS has been set to one thread
        var jobz = CChar(UInt8(ascii: "N")), uplo = CChar(UInt8(ascii: "U"))
        var dim = Int32(n), lda = Int32(n), info: Int32 = 0
        var w = [Float](repeating: 0, count: n)
        var workSize: Float = 0, iworkSize: Int32 = 0, lquery: Int32 = -1, liquery: Int32 = -1
        values.withUnsafeMutableBufferPointer { a in
            ssyevd_(&jobz, &uplo, &dim, a.baseAddress, &lda, &w, &workSize, &lquery, &iworkSize, &liquery, &info)
        }
        precondition(info == 0, "Linalg.symmetricEigenvalues: ssyevd workspace query failed, info = \(info)")
        var lwork = Int32(max(1, Int(workSize.rounded(.up)))), liwork = max(1, iworkSize)
        var work = [Float](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        values.withUnsafeMutableBufferPointer { a in
            ssyevd_(&jobz, &uplo, &dim, a.baseAddress, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        }
        precondition(info == 0, "Linalg.symmetricEigenvalues: ssyevd failed, info = \(info)"
                     + (info > 0 ? " (the algorithm did not converge)" : " (argument \(-info) is invalid)"))
        return w
    }

    /// Eigenvalues (ascending) of the symmetric n × n matrix stored row-major in `values`, in double
    /// precision by LAPACK `dsyevd` (values only).
    public static func symmetricEigenvalues(_ values: [Double], n: Int) -> [Double] {
        precondition(n >= 0 && values.count == n * n, "Linalg.symmetricEigenvalues: \(values.count) values for \(n) × \(n)")
        if n == 0 { return [] }
        _ = Engine.threads
        var a = values
        var jobz = CChar(UInt8(ascii: "N")), uplo = CChar(UInt8(ascii: "U"))
        var dim = Int32(n), lda = Int32(n), info: Int32 = 0
        var w = [Double](repeating: 0, count: n)
        var workSize: Double = 0, iworkSize: Int32 = 0, lquery: Int32 = -1, liquery: Int32 = -1
        a.withUnsafeMutableBufferPointer { p in
            dsyevd_(&jobz, &uplo, &dim, p.baseAddress, &lda, &w, &workSize, &lquery, &iworkSize, &liquery, &info)
        }
        precondition(info == 0, "Linalg.symmetricEigenvalues: dsyevd workspace query failed, info = \(info)")
        var lwork = Int32(max(1, Int(workSize.rounded(.up)))), liwork = max(1, iworkSize)
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        a.withUnsafeMutableBufferPointer { p in
            dsyevd_(&jobz, &uplo, &dim, p.baseAddress, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        }
        precondition(info == 0, "Linalg.symmetricEigenvalues: dsyevd failed, info = \(info)"
                     + (info > 0 ? " (the algorithm did not converge)" : " (argument \(-info) is invalid)"))
        return w
    }
}
