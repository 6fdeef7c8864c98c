// The products of a decode step: a few rows of activations (one per sequence) against a weight matrix, where the
// weights are the whole cost. PanelGemm copies each column panel of B into scratch before its tiles read it, which
// pays off over hundreds of rows and doubles the memory traffic for one; here the weights are read once, in place,
// GEMV-style.
//
// Two layouts. Multiply: W stored k×n (the projections' [inputs, outputs]); a register tile walks k, loading vectors of
// W's row k and broadcasting each row's activation: RM rows × RN vectors for whole groups of RM rows, one row × 2·RN
// vectors (eight independent chains) for the rest, which at batch 1 is every row. A small W is swept once per column
// tile over all of k; a W too large for L2 is swept a block of rows at a time (at batch 1 one row, straight along it: W
// in storage order), the chains parked in y between blocks (SweepRows, AxpyRow). MultiplyTransposed: W stored n×k (the
// tied head's embedding, [vocabulary, dim]); a tile of RM rows × RN rows of W, or one row × 2·RN rows of W, walks k a
// vector at a time and sums each accumulator's lanes once at the end. A call on one thread is one chunk; a shared call
// cuts the columns into chunks of whole tiles.
//
// Accuracy and determinism: in Multiply every output is Σ_k x[r,k]·W[k,j] in k order in one multiply-add chain from
// zero (fused wherever the vector ops fuse; parked in y and resumed between blocks of rows, which rounds nothing), then
// + bias: the operations of PanelGemm's vector lanes followed by AddBias, so a decode step's projections are the same
// bits as a prefill's and as the training forward's. In MultiplyTransposed every output is a vector multiply-add chain
// over k, its lanes summed in float by halves (a fixed tree: widening to double cost more than the head's loads), then
// the FMA chain of k's scalar tail. Which chunk or thread computes a column, and how many rows share the call, never
// changes those operations: results are bit-identical for every degree of parallelism and every batch.

using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal static unsafe class FewRowGemm
{
    /// <summary>The most rows for which streaming any W per row tile beats packing it.</summary>
    public const int MaxRows = 16;

    /// <summary>The most rows for which streaming a W that fits L2 (at most <see cref="StreamedMatrixBytes"/>) beats
    /// packing it: a prefill's prompt of a small model.</summary>
    public const int MaxRowsOfAnL2Matrix = 128;

    /// <summary>
    /// Whether <paramref name="rows"/> rows against a k×n W run faster here than through PanelGemm (the same bits
    /// either way): measured one product at a time in bench/README.md ("Prefill through the few-row product"), where a
    /// small W streams faster up to a whole context of rows and a W too large for L2 only up to a few sequences' rows.
    /// </summary>
    public static bool Suits(int rows, int k, int n) =>
        rows <= MaxRows || (rows <= MaxRowsOfAnL2Matrix && (long)k * n * sizeof(float) <= StreamedMatrixBytes);

    /// <summary>Rows per register tile.</summary>
    private const int RM = 4;

    /// <summary>Vectors of columns (Multiply) or rows of W (MultiplyTransposed) per register tile.</summary>
    private const int RN = 4;

    /// <summary>The most column chunks of a call: enough for 2–8 threads, each chunk a whole number of tiles.</summary>
    private const int MaxChunks = 8;

    /// <summary>Above this size W cannot stay in a core's L2 (1 MiB on Zen 5) and streams from L3 or DRAM.</summary>
    internal const long StreamedMatrixBytes = 1L << 20;

    /// <summary>Rows of W that 4-row tiles take per sweep of a streamed matrix's columns.</summary>
    private const int GroupSweepRows = 16;

    private const int CacheLineFloats = 64 / sizeof(float);

    /// <summary>
    /// How many rows of W a sweep of a chunk's column tiles covers before the next sweep resumes the chains from y. A
    /// tile reads its columns of every row it covers, so a sweep over all of k reads W as one strided stream per column
    /// tile; a sweep of one row reads the chunk's part of each row in storage order. For a small W (L2-resident, or the
    /// 64–256 KiB matrices of a small model cycling through L3) the strided sweeps cost nothing and parking the partial
    /// sums would cost; for a streamed W the prefetchers follow one stream far better than hundreds of strided ones
    /// (bench/README.md, "A model that does not fit the cache"). Four-row tiles would park four rows' sums per row of
    /// W, so they take blocks of rows. A chunk one tile wide has nothing to gain: its part of a row is one tile's.
    /// </summary>
    internal static int SweepRows(int m, int k, int n, int columns, int tileColumns)
    {
        if (columns <= tileColumns || (long)k * n * sizeof(float) <= StreamedMatrixBytes)
            return k;
        return m < RM ? 1 : GroupSweepRows;
    }

    /// <summary><c>y = x·W + bias</c>: x is m×k, W is k×n, bias is n long (or empty: none), y is m×n, all dense.</summary>
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, int m, int k, int n, int maxDegreeOfParallelism)
    {
        Check(x, w, y, m, k, n);
        if (!bias.IsEmpty && bias.Length != n)
            throw new ArgumentException($"bias: expected {n} or none, got {bias.Length}.", nameof(bias));
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
            Run(new StreamKernel<Vector512<float>, Vector512Ops>(m, k, n), x, w, bias, y, m, k, n, maxDegreeOfParallelism);
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
            Run(new StreamKernel<Vector256<float>, Vector256Ops>(m, k, n), x, w, bias, y, m, k, n, maxDegreeOfParallelism);
        else
            Run(new StreamKernel<float, ScalarOps>(m, k, n), x, w, bias, y, m, k, n, maxDegreeOfParallelism);
    }

    /// <summary><c>y = x·Wᵀ</c>: x is m×k, W is n×k, y is m×n, all dense.</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int m, int k, int n, int maxDegreeOfParallelism)
    {
        Check(x, w, y, m, k, n);
        if (Vector512.IsHardwareAccelerated && k >= Vector512<float>.Count)
            Run(new DotKernel<Vector512<float>, Vector512Ops>(m, k, n), x, w, default, y, m, k, n, maxDegreeOfParallelism);
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<float>.Count)
            Run(new DotKernel<Vector256<float>, Vector256Ops>(m, k, n), x, w, default, y, m, k, n, maxDegreeOfParallelism);
        else
            Run(new DotKernel<float, ScalarOps>(m, k, n), x, w, default, y, m, k, n, maxDegreeOfParallelism);
    }

    private static void Check(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int m, int k, int n)
    {
        if (m <= 0 || k <= 0 || n <= 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"dimensions must be > 0, got m {m}, k {k}, n {n}.");
        if (x.Length != m * k)
            throw new ArgumentException($"x: expected {m * k} = {m}×{k}, got {x.Length}.", nameof(x));
        if (w.Length != k * n)
            throw new ArgumentException($"w: expected {k * n} = {k}×{n}, got {w.Length}.", nameof(w));
        if (y.Length != m * n)
            throw new ArgumentException($"y: expected {m * n} = {m}×{n}, got {y.Length}.", nameof(y));
    }

    private static void Run<TKernel>(TKernel kernel, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, int m, int k, int n, int maxDegreeOfParallelism)
        where TKernel : struct, IColumnKernel
    {
        // Chunks of whole tiles: the cut decides only which thread computes a column, never how, so a call that runs
        // on one thread takes every column in one chunk and reads each row of W in one sweep.
        int tile = kernel.TileColumns;
        int tiles = (n + tile - 1) / tile;
        long flops = 2L * m * k * n;
        bool shared = KernelParallelism.Resolve(maxDegreeOfParallelism) > 1 && flops >= KernelParallelism.ParallelThresholdFlops;
        int chunks = shared ? Math.Min(MaxChunks, tiles) : 1;
        if (chunks == 1)
        {
            // One chunk runs here without the hand-off machinery: at batch 1 every call of a step is this case.
            fixed (float* px = x, pw = w, pBias = bias, py = y)
                kernel.Columns(px, pw, pBias, py, 0, n);
            return;
        }

        ParallelRunner.Run(new Chunked<TKernel>(kernel, tiles, chunks, tile, n), chunks, flops, maxDegreeOfParallelism, x, w, bias, default, default, y);
    }

    private interface IColumnKernel
    {
        /// <summary>Columns of one tile: RN vectors or RN rows of W.</summary>
        int TileColumns { get; }

        /// <summary>Writes columns [first, end) of every row of y.</summary>
        void Columns(float* x, float* w, float* bias, float* y, int first, int end);
    }

    /// <summary>Chunk c takes a balanced share of the tiles (the first chunks one more).</summary>
    private readonly struct Chunked<TKernel>(TKernel kernel, int tiles, int chunks, int tileColumns, int n) : IChunkKernel
        where TKernel : struct, IColumnKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int share = tiles / chunks, extra = tiles % chunks;
            int firstTile = chunk * share + Math.Min(chunk, extra);
            int endTile = firstTile + share + (chunk < extra ? 1 : 0);
            kernel.Columns(buffers.Input0Pointer, buffers.Input1Pointer, buffers.Input2Pointer, buffers.OutputPointer,
                firstTile * tileColumns, Math.Min(n, endTile * tileColumns));
        }
    }

    /// <summary>W stored k×n, read once per group of RM rows and once per single row: RM×RN tiles for whole groups
    /// of RM rows, 1×2RN tiles (eight chains, every column of a 128-wide W in one sweep of its rows) for the rest, or
    /// <see cref="AxpyRow"/> where a sweep is one row, then one vector, then scalar columns.</summary>
    private readonly struct StreamKernel<TVec, TOps>(int m, int k, int n) : IColumnKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        // Chunks as wide as the single-row tile when every row is a single row (batch 1): a chunk boundary inside it
        // would leave half the chains idle.
        public int TileColumns => (m >= RM ? RN : 2 * RN) * TOps.Count;

        public void Columns(float* x, float* w, float* bias, float* y, int first, int end)
        {
            int lanes = TOps.Count;
            int tiled = m / RM * RM;
            int quadEnd = first + (end - first) / (RN * lanes) * (RN * lanes);
            int singleEnd = first + (end - first) / (2 * RN * lanes) * (2 * RN * lanes);
            int sweepRows = SweepRows(m, k, n, end - first, TileColumns);
            for (int k0 = 0; k0 < k; k0 += sweepRows)
            {
                // Tiles past the first block resume their chains from the partial sums parked in y; the last block
                // adds the bias, as a single sweep does.
                int k1 = Math.Min(k, k0 + sweepRows);
                float* blockBias = k1 == k ? bias : null;
                // A chunk of all the columns asks for the next block ahead of its tiles (a narrower chunk's columns of
                // it are not one run of memory).
                bool prefetchNext = Sse.IsSupported && tiled > 0 && k1 < k && first == 0 && end == n;
                for (int column = first; column < quadEnd; column += RN * lanes)
                {
                    if (prefetchNext)
                        PrefetchShare(w + (nint)k1 * n, w + (nint)Math.Min(k, k1 + sweepRows) * n, (column - first) / (RN * lanes), sweepRows);

                    for (int row = 0; row < tiled; row += RM)
                        Tile4x4(x + row * k, w + column, y + row * n + column, blockBias == null ? null : blockBias + column, k0, k1);
                }

                for (int row = tiled; row < m; row++)
                {
                    if (sweepRows == 1)
                    {
                        AxpyRow(x[row * k + k0], w + (nint)k0 * n, y + row * n, blockBias, k0 == 0, first, singleEnd);
                        continue;
                    }

                    for (int c = first; c < singleEnd; c += 2 * RN * lanes)
                        Tile1x8(x + row * k, w + c, y + row * n + c, blockBias == null ? null : blockBias + c, k0, k1);
                }
            }

            for (int row = tiled; row < m; row++)
            {
                int c = singleEnd;
                for (; c + lanes <= end; c += lanes)
                    Vector(x + row * k, w + c, y + row * n + c, bias == null ? null : bias + c);
                for (; c < end; c++)
                    Scalar(x + row * k, w + c, y + row * n + c, bias == null ? null : bias + c);
            }

            for (int row = 0; row < tiled; row++)
            {
                int c = quadEnd;
                for (; c + lanes <= end; c += lanes)
                    Vector(x + row * k, w + c, y + row * n + c, bias == null ? null : bias + c);
                for (; c < end; c++)
                    Scalar(x + row * k, w + c, y + row * n + c, bias == null ? null : bias + c);
            }
        }

        /// <summary>Column tile <paramref name="tile"/>'s share of the next block of rows [start, end), in storage order,
        /// into L2. Four-row tiles read a streamed block as one strided stream per row, which the hardware prefetchers
        /// follow poorly; asking for the next block while this one computes is measured in bench/README.md ("A model
        /// that does not fit the cache").</summary>
        private static void PrefetchShare(float* start, float* end, int tile, int sweepRows)
        {
            // A block is sweepRows·n floats and there are n / (RN·lanes) tiles: RN·lanes·sweepRows floats each.
            int lines = RN * TOps.Count * sweepRows / CacheLineFloats;
            float* line = start + (nint)tile * lines * CacheLineFloats;
            for (int i = 0; i < lines && line < end; i++, line += CacheLineFloats)
                Sse.Prefetch1(line);
        }

        /// <summary>
        /// One row of W in a sweep of one row: y[start..end) = x_k·W[k, start..end) + y (from zero at k = 0; + bias in
        /// the last row), the same multiply-add of each chain as a tile's, straight along the row. Tile1x8 over the row's
        /// strips did the same work through eight parked chains a strip and was 10–15 % slower on a step whose weights
        /// stream from DRAM (bench/README.md, "A model that does not fit the cache").
        /// </summary>
        private static void AxpyRow(float xk, float* wRow, float* y, float* bias, bool first, int start, int end)
        {
            int lanes = TOps.Count;
            TVec a = TOps.Broadcast(xk);
            for (int c = start; c < end; c += 4 * lanes)
            {
                TVec y0 = first ? TOps.Zero : TOps.Load(y + c), y1 = first ? TOps.Zero : TOps.Load(y + c + lanes);
                TVec y2 = first ? TOps.Zero : TOps.Load(y + c + 2 * lanes), y3 = first ? TOps.Zero : TOps.Load(y + c + 3 * lanes);
                y0 = TOps.MultiplyAdd(a, TOps.Load(wRow + c), y0);
                y1 = TOps.MultiplyAdd(a, TOps.Load(wRow + c + lanes), y1);
                y2 = TOps.MultiplyAdd(a, TOps.Load(wRow + c + 2 * lanes), y2);
                y3 = TOps.MultiplyAdd(a, TOps.Load(wRow + c + 3 * lanes), y3);
                if (bias != null)
                {
                    y0 = TOps.Add(y0, TOps.Load(bias + c)); y1 = TOps.Add(y1, TOps.Load(bias + c + lanes));
                    y2 = TOps.Add(y2, TOps.Load(bias + c + 2 * lanes)); y3 = TOps.Add(y3, TOps.Load(bias + c + 3 * lanes));
                }

                TOps.Store(y0, y + c); TOps.Store(y1, y + c + lanes); TOps.Store(y2, y + c + 2 * lanes); TOps.Store(y3, y + c + 3 * lanes);
            }
        }

        private void Vector(float* x, float* w, float* y, float* bias)
        {
            TVec acc = TOps.Zero;
            float* wk = w;
            for (int kk = 0; kk < k; kk++, wk += n)
                acc = TOps.MultiplyAdd(TOps.Broadcast(x[kk]), TOps.Load(wk), acc);
            TOps.Store(bias == null ? acc : TOps.Add(acc, TOps.Load(bias)), y);
        }

        /// <summary>One column as one lane of a vector computes it: fused multiply-adds in k order.</summary>
        private void Scalar(float* x, float* w, float* y, float* bias)
        {
            float acc = 0;
            float* wk = w;
            for (int kk = 0; kk < k; kk++, wk += n)
                acc = MathF.FusedMultiplyAdd(x[kk], *wk, acc);
            *y = bias == null ? acc : acc + *bias;
        }

        private void Tile1x8(float* x, float* w, float* y, float* bias, int k0, int k1)
        {
            int lanes = TOps.Count;
            TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero, c6 = TOps.Zero, c7 = TOps.Zero;
            if (k0 > 0)
            {
                // Resumed from where StoreRow parked them. (Spelled out: a helper with out parameters would take the
                // accumulators' addresses and keep them in memory through the whole k loop.)
                c0 = TOps.Load(y); c1 = TOps.Load(y + lanes); c2 = TOps.Load(y + 2 * lanes); c3 = TOps.Load(y + 3 * lanes);
                c4 = TOps.Load(y + 4 * lanes); c5 = TOps.Load(y + 5 * lanes); c6 = TOps.Load(y + 6 * lanes); c7 = TOps.Load(y + 7 * lanes);
            }

            float* wk = w + (nint)k0 * n;
            for (int kk = k0; kk < k1; kk++, wk += n)
            {
                TVec a = TOps.Broadcast(x[kk]);
                c0 = TOps.MultiplyAdd(a, TOps.Load(wk), c0);
                c1 = TOps.MultiplyAdd(a, TOps.Load(wk + lanes), c1);
                c2 = TOps.MultiplyAdd(a, TOps.Load(wk + 2 * lanes), c2);
                c3 = TOps.MultiplyAdd(a, TOps.Load(wk + 3 * lanes), c3);
                c4 = TOps.MultiplyAdd(a, TOps.Load(wk + 4 * lanes), c4);
                c5 = TOps.MultiplyAdd(a, TOps.Load(wk + 5 * lanes), c5);
                c6 = TOps.MultiplyAdd(a, TOps.Load(wk + 6 * lanes), c6);
                c7 = TOps.MultiplyAdd(a, TOps.Load(wk + 7 * lanes), c7);
            }

            StoreRow(c0, c1, c2, c3, y, bias);
            StoreRow(c4, c5, c6, c7, y + 4 * lanes, bias == null ? null : bias + 4 * lanes);
        }

        private void Tile4x4(float* x, float* w, float* y, float* bias, int k0, int k1)
        {
            int lanes = TOps.Count;
            float* x0 = x, x1 = x + k, x2 = x1 + k, x3 = x2 + k;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
            TVec c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
            TVec c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
            TVec c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
            if (k0 > 0)
            {
                // Resumed from where StoreRow parked them, spelled out as in Tile1x8.
                float* y1 = y + n, y2 = y1 + n, y3 = y2 + n;
                c00 = TOps.Load(y); c01 = TOps.Load(y + lanes); c02 = TOps.Load(y + 2 * lanes); c03 = TOps.Load(y + 3 * lanes);
                c10 = TOps.Load(y1); c11 = TOps.Load(y1 + lanes); c12 = TOps.Load(y1 + 2 * lanes); c13 = TOps.Load(y1 + 3 * lanes);
                c20 = TOps.Load(y2); c21 = TOps.Load(y2 + lanes); c22 = TOps.Load(y2 + 2 * lanes); c23 = TOps.Load(y2 + 3 * lanes);
                c30 = TOps.Load(y3); c31 = TOps.Load(y3 + lanes); c32 = TOps.Load(y3 + 2 * lanes); c33 = TOps.Load(y3 + 3 * lanes);
            }

            float* wk = w + (nint)k0 * n;
            for (int kk = k0; kk < k1; kk++, wk += n)
            {
                TVec b0 = TOps.Load(wk), b1 = TOps.Load(wk + lanes), b2 = TOps.Load(wk + 2 * lanes), b3 = TOps.Load(wk + 3 * lanes);
                TVec a = TOps.Broadcast(x0[kk]);
                c00 = TOps.MultiplyAdd(a, b0, c00); c01 = TOps.MultiplyAdd(a, b1, c01); c02 = TOps.MultiplyAdd(a, b2, c02); c03 = TOps.MultiplyAdd(a, b3, c03);
                a = TOps.Broadcast(x1[kk]);
                c10 = TOps.MultiplyAdd(a, b0, c10); c11 = TOps.MultiplyAdd(a, b1, c11); c12 = TOps.MultiplyAdd(a, b2, c12); c13 = TOps.MultiplyAdd(a, b3, c13);
                a = TOps.Broadcast(x2[kk]);
                c20 = TOps.MultiplyAdd(a, b0, c20); c21 = TOps.MultiplyAdd(a, b1, c21); c22 = TOps.MultiplyAdd(a, b2, c22); c23 = TOps.MultiplyAdd(a, b3, c23);
                a = TOps.Broadcast(x3[kk]);
                c30 = TOps.MultiplyAdd(a, b0, c30); c31 = TOps.MultiplyAdd(a, b1, c31); c32 = TOps.MultiplyAdd(a, b2, c32); c33 = TOps.MultiplyAdd(a, b3, c33);
            }

            StoreRow(c00, c01, c02, c03, y, bias);
            StoreRow(c10, c11, c12, c13, y + n, bias);
            StoreRow(c20, c21, c22, c23, y + 2 * n, bias);
            StoreRow(c30, c31, c32, c33, y + 3 * n, bias);
        }

        private static void StoreRow(TVec c0, TVec c1, TVec c2, TVec c3, float* y, float* bias)
        {
            int lanes = TOps.Count;
            if (bias != null)
            {
                c0 = TOps.Add(c0, TOps.Load(bias));
                c1 = TOps.Add(c1, TOps.Load(bias + lanes));
                c2 = TOps.Add(c2, TOps.Load(bias + 2 * lanes));
                c3 = TOps.Add(c3, TOps.Load(bias + 3 * lanes));
            }

            TOps.Store(c0, y); TOps.Store(c1, y + lanes); TOps.Store(c2, y + 2 * lanes); TOps.Store(c3, y + 3 * lanes);
        }
    }

    /// <summary>W stored n×k: each output a dot product of two contiguous rows, RM×RN of them per tile.</summary>
    private readonly struct DotKernel<TVec, TOps>(int m, int k, int n) : IColumnKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        public int TileColumns => m >= RM ? RN : 2 * RN;

        public void Columns(float* x, float* w, float* bias, float* y, int first, int end)
        {
            int tiled = m / RM * RM;
            int column = first;
            for (; column + RN <= end; column += RN)
            {
                for (int row = 0; row < tiled; row += RM)
                    Tile4x4(x + row * k, w + (nint)column * k, y + row * n + column);
            }

            for (; column < end; column++)
            {
                for (int row = 0; row < tiled; row++)
                    y[row * n + column] = Dot(x + row * k, w + (nint)column * k);
            }

            // Rows past the last whole tile (all of them at batch 1) take eight rows of W at once: eight FMA chains.
            for (int row = tiled; row < m; row++)
            {
                int c = first;
                for (; c + 2 * RN <= end; c += 2 * RN)
                    Tile1x8(x + row * k, w + (nint)c * k, y + row * n + c);
                for (; c < end; c++)
                    y[row * n + c] = Dot(x + row * k, w + (nint)c * k);
            }
        }

        private float Dot(float* x, float* w)
        {
            int lanes = TOps.Count, body = k - k % lanes;
            TVec acc = TOps.Zero;
            for (int kk = 0; kk < body; kk += lanes)
                acc = TOps.MultiplyAdd(TOps.Load(x + kk), TOps.Load(w + kk), acc);
            return Tail(acc, x, w, body);
        }

        private void Tile4x4(float* x, float* w, float* y)
        {
            int lanes = TOps.Count, body = k - k % lanes;
            float* x0 = x, x1 = x + k, x2 = x1 + k, x3 = x2 + k;
            float* w0 = w, w1 = w + k, w2 = w1 + k, w3 = w2 + k;
            TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
            TVec c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
            TVec c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
            TVec c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
            for (int kk = 0; kk < body; kk += lanes)
            {
                TVec b0 = TOps.Load(w0 + kk), b1 = TOps.Load(w1 + kk), b2 = TOps.Load(w2 + kk), b3 = TOps.Load(w3 + kk);
                TVec a = TOps.Load(x0 + kk);
                c00 = TOps.MultiplyAdd(a, b0, c00); c01 = TOps.MultiplyAdd(a, b1, c01); c02 = TOps.MultiplyAdd(a, b2, c02); c03 = TOps.MultiplyAdd(a, b3, c03);
                a = TOps.Load(x1 + kk);
                c10 = TOps.MultiplyAdd(a, b0, c10); c11 = TOps.MultiplyAdd(a, b1, c11); c12 = TOps.MultiplyAdd(a, b2, c12); c13 = TOps.MultiplyAdd(a, b3, c13);
                a = TOps.Load(x2 + kk);
                c20 = TOps.MultiplyAdd(a, b0, c20); c21 = TOps.MultiplyAdd(a, b1, c21); c22 = TOps.MultiplyAdd(a, b2, c22); c23 = TOps.MultiplyAdd(a, b3, c23);
                a = TOps.Load(x3 + kk);
                c30 = TOps.MultiplyAdd(a, b0, c30); c31 = TOps.MultiplyAdd(a, b1, c31); c32 = TOps.MultiplyAdd(a, b2, c32); c33 = TOps.MultiplyAdd(a, b3, c33);
            }

            y[0] = Tail(c00, x0, w0, body); y[1] = Tail(c01, x0, w1, body); y[2] = Tail(c02, x0, w2, body); y[3] = Tail(c03, x0, w3, body);
            y += n;
            y[0] = Tail(c10, x1, w0, body); y[1] = Tail(c11, x1, w1, body); y[2] = Tail(c12, x1, w2, body); y[3] = Tail(c13, x1, w3, body);
            y += n;
            y[0] = Tail(c20, x2, w0, body); y[1] = Tail(c21, x2, w1, body); y[2] = Tail(c22, x2, w2, body); y[3] = Tail(c23, x2, w3, body);
            y += n;
            y[0] = Tail(c30, x3, w0, body); y[1] = Tail(c31, x3, w1, body); y[2] = Tail(c32, x3, w2, body); y[3] = Tail(c33, x3, w3, body);
        }

        private void Tile1x8(float* x, float* w, float* y)
        {
            int lanes = TOps.Count, body = k - k % lanes;
            float* w0 = w, w1 = w + k, w2 = w1 + k, w3 = w2 + k, w4 = w3 + k, w5 = w4 + k, w6 = w5 + k, w7 = w6 + k;
            TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero, c4 = TOps.Zero, c5 = TOps.Zero, c6 = TOps.Zero, c7 = TOps.Zero;
            for (int kk = 0; kk < body; kk += lanes)
            {
                TVec a = TOps.Load(x + kk);
                c0 = TOps.MultiplyAdd(a, TOps.Load(w0 + kk), c0); c1 = TOps.MultiplyAdd(a, TOps.Load(w1 + kk), c1);
                c2 = TOps.MultiplyAdd(a, TOps.Load(w2 + kk), c2); c3 = TOps.MultiplyAdd(a, TOps.Load(w3 + kk), c3);
                c4 = TOps.MultiplyAdd(a, TOps.Load(w4 + kk), c4); c5 = TOps.MultiplyAdd(a, TOps.Load(w5 + kk), c5);
                c6 = TOps.MultiplyAdd(a, TOps.Load(w6 + kk), c6); c7 = TOps.MultiplyAdd(a, TOps.Load(w7 + kk), c7);
            }

            y[0] = Tail(c0, x, w0, body); y[1] = Tail(c1, x, w1, body); y[2] = Tail(c2, x, w2, body); y[3] = Tail(c3, x, w3, body);
            y[4] = Tail(c4, x, w4, body); y[5] = Tail(c5, x, w5, body); y[6] = Tail(c6, x, w6, body); y[7] = Tail(c7, x, w7, body);
        }

        /// <summary>The lanes summed by halves, then k's scalar tail in one FMA chain.</summary>
        private float Tail(TVec acc, float* x, float* w, int body)
        {
            float sum = TOps.SumAcrossByHalves(acc);
            for (int kk = body; kk < k; kk++)
                sum = MathF.FusedMultiplyAdd(x[kk], w[kk], sum);
            return sum;
        }
    }
}
