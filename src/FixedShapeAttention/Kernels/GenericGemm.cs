// Runtime-shape matrix product C = epilogue(A·B), row-major, the workhorse of the generic kernels.
//
// Scope: A is [rows × depth] with stride lda, B is [depth × columns] with stride ldb, C is [rows × columns] with
// stride ldc. Blocking follows tinyBLAS's gemm_bloc, with the tiles of the generated products, read from the same
// TileTable: the product's lanes are the branch's width or the widest narrower vector its columns fill
// (TileTable.LanesFor), panels are TileTable.PanelSlots vectors wide (4 on Vector512 and scalar lanes, 2 on
// Vector256, whose 16 registers a 4×4 tile would spill), RM = ChunkSizing.RowTile rows, and P·V's row tiles run in
// pairs where TileTable.PairsRowTiles says so. Per k step one broadcast of A and one load of each B vector, FMA into
// named accumulators, the epilogue once per output. Column panels are the outer loop so a B panel stays in cache
// across all rows. Leftover whole vectors are done one at a time, and a column tail narrower than a vector by
// re-computing the last full vector of the row (identical arithmetic, so the overlapping stores write identical bits).
//
// Accuracy and determinism: each output element is Σ_k A[i,k]·B[k,j] accumulated in k order by one chain of fused
// multiply-adds (plain multiply-add at scalar lanes), then the epilogue, whatever tile, panel or thread computes it.
// The generated product of the same columns on the same branch runs the same chain at the same lanes, so the two
// agree bit for bit.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Kernels;

internal static unsafe class GenericGemm
{
    private const int TileRows = ChunkSizing.RowTile;

    /// <summary>C = epilogue(A·B) on the branch of <typeparamref name="TOps"/>'s width.</summary>
    /// <param name="attentionOutput">P·V: panels of <see cref="TileTable.AttentionOutputPanelSlots"/> vectors, row tiles in
    /// pairs where <see cref="TileTable.PairsRowTiles"/> says so, as the generated attention's output product.</param>
    public static void Multiply<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int columns, int depth, TEpilogue epilogue, bool attentionOutput = false)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int branch = TOps.Count;
        int lanes = TileTable.LanesFor(branch, columns);
        if (lanes == branch)
        {
            Panels<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns, depth, epilogue, branch, attentionOutput);
        }
        else if (lanes == Vector256<float>.Count)
        {
            Panels<Vector256<float>, Vector256Ops, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns, depth, epilogue, branch, attentionOutput);
        }
        else if (lanes == Vector128<float>.Count)
        {
            Panels<Vector128<float>, Vector128Ops, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns, depth, epilogue, branch, attentionOutput);
        }
        else
        {
            Panels<float, ScalarOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns, depth, epilogue, branch, attentionOutput);
        }
    }

    private static void Panels<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int columns, int depth, TEpilogue epilogue, int branch, bool attentionOutput)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int w = TOps.Count;
        int panelSlots = attentionOutput ? TileTable.AttentionOutputPanelSlots(branch, w) : TileTable.PanelSlots(branch);
        int slotCount = (columns + w - 1) / w;
        bool pairs = attentionOutput && TileTable.PairsRowTiles(branch, slotCount, w, panelSlots);
        int column = 0;
        if (panelSlots == 4)
        {
            for (; column + 4 * w <= columns; column += 4 * w)
            {
                FourVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue);
            }
        }
        else if (panelSlots == 2)
        {
            for (; column + 2 * w <= columns; column += 2 * w)
            {
                TwoVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue, pairs);
            }
        }

        for (; column + w <= columns; column += w)
        {
            OneVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, column, depth, epilogue, pairs);
        }

        if (column < columns)
        {
            // LanesFor never picks vectors wider than the columns, so the last full vector starts at columns − w ≥ 0.
            OneVectorPanel<TVec, TOps, TEpilogue>(a, lda, b, ldb, c, ldc, rows, columns - w, depth, epilogue, pairs);
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
            Store4<TVec, TOps, TEpilogue>(c0, c00, c01, c02, c03, row, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + ldc, c10, c11, c12, c13, row + 1, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + 2 * ldc, c20, c21, c22, c23, row + 2, column, epilogue);
            Store4<TVec, TOps, TEpilogue>(c0 + 3 * ldc, c30, c31, c32, c33, row + 3, column, epilogue);
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

            Store4<TVec, TOps, TEpilogue>(c + row * ldc + column, c00, c01, c02, c03, row, column, epilogue);
        }
    }

    private static void TwoVectorPanel<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int column, int depth, TEpilogue epilogue, bool pairs)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int w = TOps.Count;
        int row = 0;
        if (pairs)
        {
            // Two row tiles at once (8×2): eight rows share every load of B.
            for (; row + 2 * TileRows <= rows; row += 2 * TileRows)
            {
                float* a0 = a + row * lda;
                TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
                TVec c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero, c60 = TOps.Zero, c61 = TOps.Zero, c70 = TOps.Zero, c71 = TOps.Zero;
                float* bk = b + column;
                for (int k = 0; k < depth; k++, bk += ldb)
                {
                    TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w);
                    TVec x = TOps.Broadcast(a0[k]);
                    c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01);
                    x = TOps.Broadcast(a0[lda + k]);
                    c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11);
                    x = TOps.Broadcast(a0[2 * lda + k]);
                    c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21);
                    x = TOps.Broadcast(a0[3 * lda + k]);
                    c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31);
                    x = TOps.Broadcast(a0[4 * lda + k]);
                    c40 = TOps.MultiplyAdd(x, b0, c40); c41 = TOps.MultiplyAdd(x, b1, c41);
                    x = TOps.Broadcast(a0[5 * lda + k]);
                    c50 = TOps.MultiplyAdd(x, b0, c50); c51 = TOps.MultiplyAdd(x, b1, c51);
                    x = TOps.Broadcast(a0[6 * lda + k]);
                    c60 = TOps.MultiplyAdd(x, b0, c60); c61 = TOps.MultiplyAdd(x, b1, c61);
                    x = TOps.Broadcast(a0[7 * lda + k]);
                    c70 = TOps.MultiplyAdd(x, b0, c70); c71 = TOps.MultiplyAdd(x, b1, c71);
                }

                float* c0 = c + row * ldc + column;
                Store2<TVec, TOps, TEpilogue>(c0, c00, c01, row, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + ldc, c10, c11, row + 1, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 2 * ldc, c20, c21, row + 2, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 3 * ldc, c30, c31, row + 3, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 4 * ldc, c40, c41, row + 4, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 5 * ldc, c50, c51, row + 5, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 6 * ldc, c60, c61, row + 6, column, epilogue);
                Store2<TVec, TOps, TEpilogue>(c0 + 7 * ldc, c70, c71, row + 7, column, epilogue);
            }
        }

        for (; row + TileRows <= rows; row += TileRows)
        {
            float* a0 = a + row * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w);
                TVec x = TOps.Broadcast(a0[k]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01);
                x = TOps.Broadcast(a1[k]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11);
                x = TOps.Broadcast(a2[k]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21);
                x = TOps.Broadcast(a3[k]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31);
            }

            float* c0 = c + row * ldc + column;
            Store2<TVec, TOps, TEpilogue>(c0, c00, c01, row, column, epilogue);
            Store2<TVec, TOps, TEpilogue>(c0 + ldc, c10, c11, row + 1, column, epilogue);
            Store2<TVec, TOps, TEpilogue>(c0 + 2 * ldc, c20, c21, row + 2, column, epilogue);
            Store2<TVec, TOps, TEpilogue>(c0 + 3 * ldc, c30, c31, row + 3, column, epilogue);
        }

        for (; row < rows; row++)
        {
            float* a0 = a + row * lda;
            TVec c00 = TOps.Zero, c01 = TOps.Zero;
            float* bk = b + column;
            for (int k = 0; k < depth; k++, bk += ldb)
            {
                TVec x = TOps.Broadcast(a0[k]);
                c00 = TOps.MultiplyAdd(x, TOps.Load(bk), c00);
                c01 = TOps.MultiplyAdd(x, TOps.Load(bk + w), c01);
            }

            Store2<TVec, TOps, TEpilogue>(c + row * ldc + column, c00, c01, row, column, epilogue);
        }
    }

    private static void OneVectorPanel<TVec, TOps, TEpilogue>(
        float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int column, int depth, TEpilogue epilogue, bool pairs)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int row = 0;
        if (pairs)
        {
            for (; row + 2 * TileRows <= rows; row += 2 * TileRows)
            {
                float* a0 = a + row * lda;
                TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero, c6 = TOps.Zero, c7 = TOps.Zero;
                float* bk = b + column;
                for (int k = 0; k < depth; k++, bk += ldb)
                {
                    TVec bv = TOps.Load(bk);
                    c0 = TOps.MultiplyAdd(TOps.Broadcast(a0[k]), bv, c0);
                    c1 = TOps.MultiplyAdd(TOps.Broadcast(a0[lda + k]), bv, c1);
                    c2 = TOps.MultiplyAdd(TOps.Broadcast(a0[2 * lda + k]), bv, c2);
                    c3 = TOps.MultiplyAdd(TOps.Broadcast(a0[3 * lda + k]), bv, c3);
                    c4 = TOps.MultiplyAdd(TOps.Broadcast(a0[4 * lda + k]), bv, c4);
                    c5 = TOps.MultiplyAdd(TOps.Broadcast(a0[5 * lda + k]), bv, c5);
                    c6 = TOps.MultiplyAdd(TOps.Broadcast(a0[6 * lda + k]), bv, c6);
                    c7 = TOps.MultiplyAdd(TOps.Broadcast(a0[7 * lda + k]), bv, c7);
                }

                float* cRow = c + row * ldc + column;
                TOps.Store(epilogue.Apply<TVec, TOps>(c0, row, column), cRow);
                TOps.Store(epilogue.Apply<TVec, TOps>(c1, row + 1, column), cRow + ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c2, row + 2, column), cRow + 2 * ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c3, row + 3, column), cRow + 3 * ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c4, row + 4, column), cRow + 4 * ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c5, row + 5, column), cRow + 5 * ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c6, row + 6, column), cRow + 6 * ldc);
                TOps.Store(epilogue.Apply<TVec, TOps>(c7, row + 7, column), cRow + 7 * ldc);
            }
        }

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
            TOps.Store(epilogue.Apply<TVec, TOps>(c0, row, column), cRow);
            TOps.Store(epilogue.Apply<TVec, TOps>(c1, row + 1, column), cRow + ldc);
            TOps.Store(epilogue.Apply<TVec, TOps>(c2, row + 2, column), cRow + 2 * ldc);
            TOps.Store(epilogue.Apply<TVec, TOps>(c3, row + 3, column), cRow + 3 * ldc);
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

            TOps.Store(epilogue.Apply<TVec, TOps>(c0, row, column), c + row * ldc + column);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<TVec, TOps, TEpilogue>(float* destination, TVec v0, TVec v1, TVec v2, TVec v3, int row, int column, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        int w = TOps.Count;
        TOps.Store(epilogue.Apply<TVec, TOps>(v0, row, column), destination);
        TOps.Store(epilogue.Apply<TVec, TOps>(v1, row, column + w), destination + w);
        TOps.Store(epilogue.Apply<TVec, TOps>(v2, row, column + 2 * w), destination + 2 * w);
        TOps.Store(epilogue.Apply<TVec, TOps>(v3, row, column + 3 * w), destination + 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2<TVec, TOps, TEpilogue>(float* destination, TVec v0, TVec v1, int row, int column, TEpilogue epilogue)
        where TVec : struct
        where TOps : IVectorOps<TVec>
        where TEpilogue : struct, IEpilogue
    {
        TOps.Store(epilogue.Apply<TVec, TOps>(v0, row, column), destination);
        TOps.Store(epilogue.Apply<TVec, TOps>(v1, row, column + TOps.Count), destination + TOps.Count);
    }
}
