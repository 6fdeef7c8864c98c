// Runtime-shape C = op(A)·op(B) (or C += op(A)·op(B)) for training: the products of a backward pass need
// transposed operands (dX = dY·Wᵀ, dW = Xᵀ·dY), and weights that change every step cannot stay prepacked.
//
// Blocking, after BLIS: each chunk owns one column panel of C (RN vectors, TileTable's width for the ISA) and a
// range of row tiles. It copies op(B)'s panel once into thread-local scratch in the order the register tile reads it
// (k-major, RN·lanes floats per k, zero-padded past n), from either layout, so the microkernel streams contiguous
// memory whatever the transposition; op(A) is broadcast from its rows (A) or its columns (Aᵀ) through two strides,
// needing no copy. The microkernel is tinyBLAS's RM×RN tile of named accumulators (RM = 4).
//
// Accuracy and determinism: each element of the product is Σ_k op(A)[i,k]·op(B)[k,j] in k order in one FMA chain
// (multiply-add on the scalar width), whichever chunk or thread computes it; with accumulate the rounded product is
// then added to C once. So results are bit-identical for every degree of parallelism, and a gradient summed
// sequence by sequence with accumulate is the same bits whether the sequences come in one batch or in micro-batches.

using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Kernels;

internal static unsafe class PanelGemm
{
    private const int TileRows = ChunkSizing.RowTile;

    [ThreadStatic]
    private static float[]? t_panel;

    /// <summary>
    /// <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> with <paramref name="accumulate"/>. op(A) is m×k: A itself
    /// (m rows of stride lda) or, with <paramref name="transposeA"/>, Aᵀ of an A stored k×m. op(B) is k×n: B (k rows of
    /// stride ldb) or, with <paramref name="transposeB"/>, Bᵀ of a B stored n×k. C is m rows of stride ldc. C must not
    /// overlap A or B.
    /// </summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transposeA,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"dimensions must be ≥ 0, got m {m}, n {n}, k {k}.");
        if (m == 0 || n == 0)
            return;
        CheckExtent(a.Length, transposeA ? k : m, transposeA ? m : k, lda, nameof(a));
        CheckExtent(b.Length, transposeB ? n : k, transposeB ? k : n, ldb, nameof(b));
        CheckExtent(c.Length, m, n, ldc, nameof(c));

        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
            Run<Vector512<float>, Vector512Ops>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
            Run<Vector256<float>, Vector256Ops>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);
        else
            Run<float, ScalarOps>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);
    }

    private static void CheckExtent(int length, int rows, int columns, int stride, string name)
    {
        if (rows == 0 || columns == 0)
            return;
        if (stride < columns)
            throw new ArgumentOutOfRangeException(name, stride, $"{name}: the stride {stride} is below the row length {columns}.");
        long needed = (long)(rows - 1) * stride + columns;
        if (length < needed)
            throw new ArgumentException($"{name}: expected at least {needed} = ({rows} − 1)×{stride} + {columns}, got {length}.", name);
    }

    private static void Run<TVec, TOps>(
        ReadOnlySpan<float> a, int lda, bool transposeA, ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        int slots = TileTable.PanelSlots(TOps.Count);
        int panelWidth = slots * TOps.Count;
        int panels = (n + panelWidth - 1) / panelWidth;
        int rowTiles = (m + TileRows - 1) / TileRows;
        // Enough chunks for a few threads when the columns alone give too few; every extra row group packs the panel
        // again, which costs k·panelWidth copies against its rows·k·panelWidth multiply-adds.
        int rowGroups = Math.Clamp((8 + panels - 1) / panels, 1, Math.Max(1, rowTiles / 4));
        int tilesPerGroup = (rowTiles + rowGroups - 1) / rowGroups;
        rowGroups = (rowTiles + tilesPerGroup - 1) / tilesPerGroup;
        var kernel = new Kernel<TVec, TOps>(lda, transposeA, ldb, transposeB, ldc, m, n, k, accumulate, slots, rowGroups, tilesPerGroup * TileRows);
        ParallelRunner.Run(kernel, panels * rowGroups, 2L * m * n * k, maxDegreeOfParallelism, a, b, default, default, default, c);
    }

    private static float* PanelScratch(int floats)
    {
        float[]? panel = t_panel;
        if (panel is null || panel.Length < floats)
            t_panel = panel = GC.AllocateArray<float>(Math.Max(floats, 4096), pinned: true);
        return (float*)Unsafe.AsPointer(ref panel[0]);
    }

    private readonly struct Kernel<TVec, TOps> : IChunkKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        private readonly int _lda, _ldb, _ldc, _m, _n, _k, _slots, _rowGroups, _rowsPerGroup;
        private readonly bool _transposeA, _transposeB, _accumulate;

        public Kernel(int lda, bool transposeA, int ldb, bool transposeB, int ldc, int m, int n, int k, bool accumulate, int slots, int rowGroups, int rowsPerGroup)
        {
            (_lda, _transposeA, _ldb, _transposeB, _ldc, _m, _n, _k) = (lda, transposeA, ldb, transposeB, ldc, m, n, k);
            (_accumulate, _slots, _rowGroups, _rowsPerGroup) = (accumulate, slots, rowGroups, rowsPerGroup);
        }

        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int panelWidth = _slots * TOps.Count;
            int column = chunk / _rowGroups * panelWidth;
            int width = Math.Min(panelWidth, _n - column);
            int firstRow = chunk % _rowGroups * _rowsPerGroup;
            int endRow = Math.Min(_m, firstRow + _rowsPerGroup);
            float* packed = PanelScratch(Math.Max(1, _k) * panelWidth);
            PackPanel(buffers.Input1Pointer, column, width, panelWidth, packed);

            // op(A)[i, kk] = a[i·rowStride + kk·kStride].
            nint rowStride = _transposeA ? 1 : _lda, kStride = _transposeA ? _lda : 1;
            float* c = buffers.OutputPointer;
            float* tile = stackalloc float[TileRows * panelWidth];
            for (int row = firstRow; row < endRow; row += TileRows)
            {
                int rows = Math.Min(TileRows, endRow - row);
                float* a = buffers.Input0Pointer + row * rowStride;
                bool direct = width == panelWidth && !_accumulate;
                float* target = direct ? c + (nint)row * _ldc + column : tile;
                nint targetStride = direct ? _ldc : panelWidth;
                if (rows == TileRows && _slots == 4)
                    Tile4x4(a, rowStride, kStride, packed, panelWidth, target, targetStride);
                else if (rows == TileRows && _slots == 2)
                    Tile4x2(a, rowStride, kStride, packed, panelWidth, target, targetStride);
                else
                {
                    for (int r = 0; r < rows; r++)
                        Row(a + r * rowStride, kStride, packed, panelWidth, target + r * targetStride);
                }

                if (!direct)
                    Store(tile, panelWidth, c + (nint)row * _ldc + column, rows, width);
            }
        }

        /// <summary>Copies op(B)[0..k, column..column+width] into k rows of panelWidth floats, zeros past width.</summary>
        private void PackPanel(float* b, int column, int width, int panelWidth, float* packed)
        {
            for (int kk = 0; kk < _k; kk++)
            {
                float* destination = packed + (nint)kk * panelWidth;
                if (_transposeB)
                {
                    // op(B)[kk, j] = B[j, kk]: a column of the stored B.
                    float* source = b + (nint)column * _ldb + kk;
                    for (int j = 0; j < width; j++)
                        destination[j] = source[(nint)j * _ldb];
                }
                else
                {
                    new ReadOnlySpan<float>(b + (nint)kk * _ldb + column, width).CopyTo(new Span<float>(destination, width));
                }

                new Span<float>(destination + width, panelWidth - width).Clear();
            }
        }

        private void Store(float* tile, int panelWidth, float* c, int rows, int width)
        {
            for (int r = 0; r < rows; r++)
            {
                float* source = tile + r * panelWidth, destination = c + (nint)r * _ldc;
                if (_accumulate)
                {
                    for (int j = 0; j < width; j++)
                        destination[j] += source[j];
                }
                else
                {
                    new ReadOnlySpan<float>(source, width).CopyTo(new Span<float>(destination, width));
                }
            }
        }

        private void Tile4x4(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, float* c, nint ldc)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
            TVec c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
            TVec c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
            TVec c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
            float* bk = packed;
            for (int kk = 0; kk < _k; kk++, bk += panelWidth)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w), b2 = TOps.Load(bk + 2 * w), b3 = TOps.Load(bk + 3 * w);
                nint offset = kk * kStride;
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01); c02 = TOps.MultiplyAdd(x, b2, c02); c03 = TOps.MultiplyAdd(x, b3, c03);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11); c12 = TOps.MultiplyAdd(x, b2, c12); c13 = TOps.MultiplyAdd(x, b3, c13);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21); c22 = TOps.MultiplyAdd(x, b2, c22); c23 = TOps.MultiplyAdd(x, b3, c23);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31); c32 = TOps.MultiplyAdd(x, b2, c32); c33 = TOps.MultiplyAdd(x, b3, c33);
            }

            float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            TOps.Store(c00, r0); TOps.Store(c01, r0 + w); TOps.Store(c02, r0 + 2 * w); TOps.Store(c03, r0 + 3 * w);
            TOps.Store(c10, r1); TOps.Store(c11, r1 + w); TOps.Store(c12, r1 + 2 * w); TOps.Store(c13, r1 + 3 * w);
            TOps.Store(c20, r2); TOps.Store(c21, r2 + w); TOps.Store(c22, r2 + 2 * w); TOps.Store(c23, r2 + 3 * w);
            TOps.Store(c30, r3); TOps.Store(c31, r3 + w); TOps.Store(c32, r3 + 2 * w); TOps.Store(c33, r3 + 3 * w);
        }

        private void Tile4x2(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, float* c, nint ldc)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero;
            TVec c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
            float* bk = packed;
            for (int kk = 0; kk < _k; kk++, bk += panelWidth)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w);
                nint offset = kk * kStride;
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31);
            }

            float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            TOps.Store(c00, r0); TOps.Store(c01, r0 + w);
            TOps.Store(c10, r1); TOps.Store(c11, r1 + w);
            TOps.Store(c20, r2); TOps.Store(c21, r2 + w);
            TOps.Store(c30, r3); TOps.Store(c31, r3 + w);
        }

        /// <summary>One row of the panel, a vector at a time: the row tail, in the same k order as the tiles.</summary>
        private void Row(float* a, nint kStride, float* packed, int panelWidth, float* c)
        {
            int w = TOps.Count;
            for (int slot = 0; slot < _slots; slot++)
            {
                TVec acc = TOps.Zero;
                float* bk = packed + slot * w;
                for (int kk = 0; kk < _k; kk++, bk += panelWidth)
                    acc = TOps.MultiplyAdd(TOps.Broadcast(a[kk * kStride]), TOps.Load(bk), acc);
                TOps.Store(acc, c + slot * w);
            }
        }
    }
}
