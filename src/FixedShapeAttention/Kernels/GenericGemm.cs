// Runtime-shape matrix product C = epilogue(A·B), row-major, the workhorse of the generic kernels.
//
// Scope: A is [rows × depth] with stride lda, B is [depth × columns] with stride ldb, C is [rows × columns] with
// stride ldc. Blocking follows tinyBLAS's gemm_bloc: a 4-row × 4-vector register tile of named accumulators,
// one broadcast of A and one load of B per k step, FMA into the accumulators, the epilogue applied once per
// output. Column panels are the outer loop so a B panel stays in cache across all rows.
//
// Accuracy and determinism: each output element is Σ_k A[i,k]·B[k,j] accumulated in k order by one FMA chain
// (plain multiply-add on the scalar width), whatever tile, panel or thread computes it. A column tail narrower
// than a vector is done by re-computing the last full vector of the row (identical arithmetic, so the
// overlapping stores write identical bits); below one vector of columns the scalar width takes over.

using System.Runtime.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal static unsafe class GenericGemm
{
    private const int TileRows = 4;
    private const int PanelVectors = 4;

    public static void Multiply<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int columns, int depth, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int width = TOps.Count;
        int column = 0;
        for (; column + PanelVectors * width <= columns; column += PanelVectors * width)
        {
            FourVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue);
        }

        for (; column + width <= columns; column += width)
        {
            OneVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue);
        }

        if (column < columns)
        {
            if (columns >= width)
            {
                OneVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns - width, depth, epilogue);
            }
            else
            {
                for (; column < columns; column++)
                {
                    OneVectorPanel<float, ScalarOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue);
                }
            }
        }
    }

    private static void FourVectorPanel<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int column, int depth, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int w = TOps.Count;
        int row = 0;
        for (; row + TileRows <= rows; row += TileRows)
        {
            float* a0 = a + row * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
            TVec c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
            TVec c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
            TVec c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w), b2 = TOps.Load(bk + 2 * w), b3 = TOps.Load(bk + 3 * w);
                TVec x = TOps.Broadcast(a0[k]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01); c02 = TOps.MultiplyAdd(x, b2, c02); c03 = TOps.MultiplyAdd(x, b3, c03);
                x = TOps.Broadcast(a1[k]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11); c12 = TOps.MultiplyAdd(x, b2, c12); c13 = TOps.MultiplyAdd(x, b3, c13);
                x = TOps.Broadcast(a2[k]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21); c22 = TOps.MultiplyAdd(x, b2, c22); c23 = TOps.MultiplyAdd(x, b3, c23);
                x = TOps.Broadcast(a3[k]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31); c32 = TOps.MultiplyAdd(x, b2, c32); c33 = TOps.MultiplyAdd(x, b3, c33);
            }

            float* c0 = c + row * ldc + column;
            Store4<TVec, TOps, TEpilogue>(c0, c00, c01, c02, c03, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + ldc, c10, c11, c12, c13, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + 2 * ldc, c20, c21, c22, c23, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + 3 * ldc, c30, c31, c32, c33, column, epilogue);
        }

        for (; row < rows; row++)
        {
            float* a0 = a + row * lda;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                TVec x = TOps.Broadcast(a0[k]);
                c00 = TOps.MultiplyAdd(x, TOps.Load(bk), c00);
                c01 = TOps.MultiplyAdd(x, TOps.Load(bk + w), c01);
                c02 = TOps.MultiplyAdd(x, TOps.Load(bk + 2 * w), c02);
                c03 = TOps.MultiplyAdd(x, TOps.Load(bk + 3 * w), c03);
            }

            Store4<TVec, TOps, TEpilogue>(c + row * ldc + column, c00, c01, c02, c03, column, epilogue);
        }
    }

    private static void OneVectorPanel<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int column, int depth, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int row = 0;
        for (; row + TileRows <= rows; row += TileRows)
        {
            float* a0 = a + row * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                TVec bv = TOps.Load(bk);
                c0 = TOps.MultiplyAdd(TOps.Broadcast(a0[k]), bv, c0);
                c1 = TOps.MultiplyAdd(TOps.Broadcast(a1[k]), bv, c1);
                c2 = TOps.MultiplyAdd(TOps.Broadcast(a2[k]), bv, c2);
                c3 = TOps.MultiplyAdd(TOps.Broadcast(a3[k]), bv, c3);
            }

            float* cRow = c + row * ldc + column;
            TOps.Store(epilogue.Apply<TVec, TOps>(c0, column), cRow);
            TOps.Store(epilogue.Apply<TVec, TOps>(c1, column), cRow + ldc);
            TOps.Store(epilogue.Apply<TVec, TOps>(c2, column), cRow + 2 * ldc);
            TOps.Store(epilogue.Apply<TVec, TOps>(c3, column), cRow + 3 * ldc);
        }

        for (; row < rows; row++)
        {
            float* a0 = a + row * lda;
            TVec c0 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                c0 = TOps.MultiplyAdd(TOps.Broadcast(a0[k]), TOps.Load(bk), c0);
            }

            TOps.Store(epilogue.Apply<TVec, TOps>(c0, column), c + row * ldc + column);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<TVec, TOps, TEpilogue>(float* destination, TVec v0, TVec v1, TVec v2, TVec v3, int column, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int w = TOps.Count;
        TOps.Store(epilogue.Apply<TVec, TOps>(v0, column), destination);
        TOps.Store(epilogue.Apply<TVec, TOps>(v1, column + w), destination + w);
        TOps.Store(epilogue.Apply<TVec, TOps>(v2, column + 2 * w), destination + 2 * w);
        TOps.Store(epilogue.Apply<TVec, TOps>(v3, column + 3 * w), destination + 3 * w);
    }
}
