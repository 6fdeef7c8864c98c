// Runtime-shape C = op(A)·op(B) (or C += op(A)·op(B)) for training: the products of a backward pass need
// transposed operands (dX = dY·Wᵀ, dW = Xᵀ·dY), and weights that change every step cannot stay prepacked.
//
// Blocking, after BLIS: each chunk owns one column panel of C (RN vectors, TileTable's width for the ISA; 2 vectors
// when n fits in 2, so a head of 32 columns does not multiply 32 columns of zeros) and a range of row tiles. op(B)'s
// panels are copied in the order the register tile reads them (k-major, RN·lanes floats per k, zero-padded past n):
// on one thread a stored B all at once before the chunks run, row by row; else each chunk its own into thread-local
// scratch. So the microkernel streams contiguous memory whatever the transposition. op(A) is broadcast from its rows
// (A) or its columns (Aᵀ) through two strides; an Aᵀ product is swept in k blocks whose panel rows stay in L1
// (TransposedABlockDepth), and under 4-row tiles an Aᵀ whose rows are a page or more apart is first copied into
// blocks of a tile's rows (PackedTransposeStride). On one thread a panel is one chunk; more threads split its rows,
// each chunk packing its panel (either layout).
// The microkernel is tinyBLAS's RM×RN tile of named accumulators: 4×4 vectors, 6×4 on Vector512 (whose 32 registers
// hold 24 accumulators: fewer panel loads per multiply-add), or 8×2 for two-vector panels on Vector512.
//
// Chains: MultiplyAccumulateChained starts each output's FMA chain from the value C holds instead of adding a rounded
// product to it, so a weight gradient summed over micro-batches (consecutive k ranges) is the bits of one call.
//
// Accuracy and determinism: each element of the product is Σ_k op(A)[i,k]·op(B)[k,j] in k order in one FMA chain
// (multiply-add on the scalar width), whichever chunk, tile shape or thread computes it; with accumulate the rounded
// product is then added to C once, and a chained product's chain starts from C. So results are bit-identical for every
// degree of parallelism, and a chained weight gradient is the same bits whether its rows come in one call or several.

using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Kernels;

internal static unsafe class PanelGemm
{
    private const int TileRows = ChunkSizing.RowTile;

    /// <summary>
    /// Rows of the wide register tile for four-vector panels on Vector512: 6×4 vectors, 24 accumulators of AVX-512's 32
    /// registers, with 4 for B and 1 for a broadcast. Per k it reads 4 vectors of B for 24 multiply-adds where the 4×4 tile
    /// reads them for 16, and the panel streams from L2, whose bandwidth bounds the products on a core with two 512-bit
    /// FMA pipes (Zen 5, 2026-12-01, `-- training-gemms`, one thread): the forward products went from 90–91 to 91–93 %
    /// of the peak and ffn.w1's dW from 68 to 77–80 %. Vector256 keeps 4×4: AVX2 has 16 registers.
    /// </summary>
    private const int WideTileRows = 6;

    /// <summary>
    /// The most floats of packed panel a chunk sweeps at once (512 KiB, half of a Zen 4/5 core's L2). Deeper products
    /// are swept in k blocks of this size (BLIS's KC), every row tile per block. Measured on this model's products
    /// (k ≤ 1024, panels ≤ 256 KiB): blocks sized for L1 (32 KiB) were no faster than a panel in L2 for the products
    /// whose A is read by rows, so only their panels that would spill L2 are blocked.
    /// </summary>
    private const int L2PanelFloats = 1 << 17;

    /// <summary>
    /// The k block (BLIS's KC) of a product whose A is read transposed: a weight gradient's Xᵀ, where each k of a tile
    /// reads a new line of X, a row apart. Over a whole panel those lines and the panel (256 KiB at k = 1024) spill L2
    /// together; in blocks of 128 k the panel's block (32 KiB for four Vector512s) stays in L1 and the block's rows of X
    /// in L2. Measured with the 6×4 tile (Zen 5, 2026-12-01, `-- training-gemms`, one thread): the projections' dW went
    /// from 62–64 to 82–86 % of the peak, ffn.w1's from 77–80 to 84–85 %, and ffn.w2's (X rows 4 KiB apart, read in
    /// place instead of copied, see <see cref="PackedTransposeStride"/>) from 66–72 to 84–88 %. Blocks of 64 k gave
    /// 77–84 %, of 256 k 74–80 %. On the Vector256 path (4×4 tiles) the projections' dW went from 54 to 77–81 % and
    /// ffn.w1's from 62 to 69–74 %.
    /// </summary>
    private const int TransposedABlockDepth = 128;

    /// <summary>
    /// The least row stride of a stored A (floats, a 4 KiB page) for which the 4-row tiles' Aᵀ is copied into blocks of
    /// a tile's rows first. Only where the tiles are 4 rows high (Vector256 and scalar): there, ffn.w2's dW (stride 1024)
    /// ran at 80 % of the peak with the copy and 42–45 % without, whatever the k block (Zen 5, 2026-12-01,
    /// `DOTNET_EnableAVX512=0 -- training-gemms`). Vector512's 6×4 tiles read Xᵀ in place: ffn.w2's dW ran at 66–68 %
    /// with the copy and 84–88 % without. A copied Aᵀ is read in order, so it is not swept in k blocks.
    /// </summary>
    private const int PackedTransposeStride = 1024;

    /// <summary>The most floats a call copies up front (16 MiB each, kept per thread: one buffer for Aᵀ, one for B), of Aᵀ
    /// into row blocks or of B into its panels; a larger operand is read where it is (Aᵀ) or packed panel by panel (B).</summary>
    private const int PackedCopyLimit = 1 << 22;

    [ThreadStatic]
    private static float[]? t_panel;

    [ThreadStatic]
    private static float[]? t_transposed;

    [ThreadStatic]
    private static float[]? t_panels;

    [ThreadStatic]
    private static float[]? t_sums;

    /// <summary>
    /// <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> with <paramref name="accumulate"/>. op(A) is m×k: A itself
    /// (m rows of stride lda) or, with <paramref name="transposeA"/>, Aᵀ of an A stored k×m. op(B) is k×n: B (k rows of
    /// stride ldb) or, with <paramref name="transposeB"/>, Bᵀ of a B stored n×k. C is m rows of stride ldc. C must not
    /// overlap A or B.
    /// </summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transposeA,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism) =>
        Dispatch(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);

    /// <summary>
    /// <c>C = op(A)·op(B) + bias</c>, the bias added to every row of C: the bits of <see cref="Multiply"/> followed by a
    /// pass adding the bias (each element the rounded product plus the bias, rounded), with the bias added to each tile
    /// while it is still in L1 instead of in a second sweep over C.
    /// </summary>
    public static void MultiplyAddBias(
        ReadOnlySpan<float> a, int lda, bool transposeA,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, ReadOnlySpan<float> bias, int maxDegreeOfParallelism)
    {
        if (bias.Length != n)
            throw new ArgumentException($"bias: expected {n} floats (n), got {bias.Length}.", nameof(bias));
        Dispatch(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, false, maxDegreeOfParallelism, bias);
    }

    /// <summary>
    /// <c>C += op(A)·op(B)</c> with each output's k-order multiply-add chain (fused on the vector paths) starting from the value C holds (where
    /// <see cref="Multiply"/> with accumulate rounds the product first and then adds it). A product split along k into
    /// consecutive calls therefore gives the bits of one call: a weight gradient summed over micro-batches is the same
    /// bits as over their batch, at the cost of one load and store of C per tile, not per part.
    /// </summary>
    public static void MultiplyAccumulateChained(
        ReadOnlySpan<float> a, int lda, bool transposeA,
        ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, int maxDegreeOfParallelism) =>
        Dispatch(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, true, maxDegreeOfParallelism, chained: true);

    /// <summary>
    /// As the other overload, for a stored B (a weight gradient's dY), also adding B's column sums to
    /// <paramref name="columnSums"/> (a bias gradient) as <see cref="ColumnSums.AddTo"/> would once per run of
    /// <paramref name="sumRows"/> rows, in order: the same bits. On one thread they are summed as B is packed.
    /// </summary>
    public static void MultiplyAccumulateChained(
        ReadOnlySpan<float> a, int lda, bool transposeA,
        ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, int m, int n, int k, Span<float> columnSums, int sumRows, int maxDegreeOfParallelism)
    {
        if (columnSums.Length != n)
            throw new ArgumentException($"columnSums: expected {n} floats (n), got {columnSums.Length}.", nameof(columnSums));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sumRows);
        Dispatch(a, lda, transposeA, b, ldb, false, c, ldc, m, n, k, true, maxDegreeOfParallelism, chained: true, columnSums: columnSums, sumRows: sumRows);
    }

    private static void Dispatch(
        ReadOnlySpan<float> a, int lda, bool transposeA, ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism, ReadOnlySpan<float> bias = default,
        bool chained = false, Span<float> columnSums = default, int sumRows = 0)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"dimensions must be ≥ 0, got m {m}, n {n}, k {k}.");
        int threads = KernelParallelism.Resolve(maxDegreeOfParallelism);
        if (m == 0 || n == 0)
            return;
        CheckExtent(a.Length, transposeA ? k : m, transposeA ? m : k, lda, nameof(a));
        CheckExtent(b.Length, transposeB ? n : k, transposeB ? k : n, ldb, nameof(b));
        CheckExtent(c.Length, m, n, ldc, nameof(c));

        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
            Run<Vector512<float>, Vector512Ops>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, threads, maxDegreeOfParallelism, bias, chained, columnSums, sumRows);
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
            Run<Vector256<float>, Vector256Ops>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, threads, maxDegreeOfParallelism, bias, chained, columnSums, sumRows);
        else
            Run<float, ScalarOps>(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, threads, maxDegreeOfParallelism, bias, chained, columnSums, sumRows);
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
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int threads, int maxDegreeOfParallelism, ReadOnlySpan<float> bias,
        bool chained, Span<float> columnSums, int sumRows)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        // Two-vector panels when n fits in two vectors on Vector512 (a 32-column head); otherwise the table's RN.
        int slots = TOps.Count == 16 && n <= 2 * TOps.Count ? 2 : TileTable.PanelSlots(TOps.Count);
        int panelWidth = slots * TOps.Count;
        int panels = (n + panelWidth - 1) / panelWidth;
        int rowTiles = (m + TileRows - 1) / TileRows;
        // On one thread each panel is one chunk, packed once. With more threads, enough chunks for them when the
        // columns alone give too few; every extra row group packs the panel again, which costs k·panelWidth copies
        // against its rows·k·panelWidth multiply-adds. Chunking never changes the bits, only who computes them.
        int rowGroups = threads == 1 ? 1 : Math.Clamp((4 * threads + panels - 1) / panels, 1, Math.Max(1, rowTiles / 4));
        int tilesPerGroup = (rowTiles + rowGroups - 1) / rowGroups;
        // Row groups of whole 8-row pairs, so two-vector panels run 8×2 tiles wherever they can.
        if (slots == 2 && tilesPerGroup % 2 == 1 && tilesPerGroup < rowTiles)
            tilesPerGroup++;
        rowGroups = (rowTiles + tilesPerGroup - 1) / tilesPerGroup;

        // Aᵀ stored with rows a page or more apart, under tiles of 4 rows, is copied once per call into blocks of a tile's
        // rows, k-major, so the tiles read their broadcasts from consecutive memory instead of one new line of X per k
        // (the prefetchers do not follow those across pages). The copy is one pass over X; the tiles then read it once
        // per panel. Only on one thread: with more, a serial copy by the calling thread costs more than it saves.
        int blockRows = 0;
        long packedFloats = (long)(m + TileRows - 1) / TileRows * TileRows * k;
        if (threads == 1 && transposeA && TOps.Count < 16 && lda >= PackedTransposeStride && k > 1 && m >= TileRows && packedFloats <= PackedCopyLimit)
        {
            blockRows = TileRows;
            float* packed = PinnedScratch.Get(ref t_transposed, (int)packedFloats);
            fixed (float* stored = a)
                PackTransposedA(stored, lda, m, k, packed);
            a = new ReadOnlySpan<float>(packed, (int)packedFloats);
        }

        // On one thread a stored B (not transposed) is packed into all its panels up front, row by row: one sequential
        // read of B, where packing each chunk's panel reads a strip of every row (a quarter to a sixteenth of each row's
        // lines, a row apart). Measured with caches flushed before each call (the training benchmark's weight gradients,
        // 2026-11-30), the projections' dW went from 1.62-1.69 to 1.34-1.62 ms and ffn.w1's from 5.42-6.00 to 5.43-5.52
        // ms; the forward products were unchanged. On two threads the chunks pack their own panels: panels packed by
        // the calling thread took the two-thread projection products from ~91 % to ~72 % of the peak.
        ReadOnlySpan<float> packedPanels = default;
        long panelFloats = (long)panels * k * panelWidth;
        if (threads == 1 && !transposeB && k > 0 && panelFloats <= PackedCopyLimit)
        {
            float* all = PinnedScratch.Get(ref t_panels, (int)panelFloats);
            float* sums = columnSums.IsEmpty ? null : PinnedScratch.Get(ref t_sums, n);

            fixed (float* stored = b, total = columnSums)
                PackAllPanels<TVec, TOps>(stored, ldb, n, k, panelWidth, panels, all, sums, total, sumRows);
            packedPanels = new ReadOnlySpan<float>(all, (int)panelFloats);
            columnSums = default;
        }

        // Column sums not taken while packing: one pass per run of rows.
        for (int first = 0; first < k && !columnSums.IsEmpty; first += sumRows)
        {
            int count = Math.Min(sumRows, k - first);
            ColumnSums.AddTo(b.Slice(first * ldb, (count - 1) * ldb + n), ldb, count, columnSums);
        }

        var kernel = new Kernel<TVec, TOps>(lda, transposeA, ldb, transposeB, ldc, m, n, k, accumulate, slots, rowGroups, tilesPerGroup * TileRows, blockRows, !bias.IsEmpty, chained);
        ParallelRunner.Run(kernel, panels * rowGroups, 2L * m * n * k, maxDegreeOfParallelism, a, b, bias, packedPanels, default, c);
    }

    /// <summary>op(A) = Aᵀ (A stored k×m) into blocks of <see cref="TileRows"/> rows of op(A): element (i, kk) at
    /// (i / 4)·4·k + kk·4 + i mod 4. Four blocks (one line of each row of A) at a time, down all k: each block is written
    /// in order, and each line of A is read once.</summary>
    private static void PackTransposedA(float* a, int lda, int m, int k, float* packed)
    {
        const int Line = 4 * TileRows;
        int lines = m / Line * Line;
        for (int first = 0; first < lines; first += Line)
        {
            float* source = a + first, target = packed + (nint)first * k;
            nint blockStride = (nint)TileRows * k;
            for (int kk = 0; kk < k; kk++, source += lda, target += TileRows)
            {
                Vector128.Store(Vector128.Load(source), target);
                Vector128.Store(Vector128.Load(source + TileRows), target + blockStride);
                Vector128.Store(Vector128.Load(source + 2 * TileRows), target + 2 * blockStride);
                Vector128.Store(Vector128.Load(source + 3 * TileRows), target + 3 * blockStride);
            }
        }

        for (int first = lines; first < m; first += TileRows)
        {
            int width = Math.Min(TileRows, m - first);
            float* block = packed + (nint)first * k;
            for (int kk = 0; kk < k; kk++)
            {
                for (int r = 0; r < width; r++)
                    block[kk * TileRows + r] = a[(nint)kk * lda + first + r];
            }
        }
    }

    /// <summary>Every panel of a stored B (k rows of stride ldb), panel p at p·k·panelWidth, each k-major and zero-padded
    /// past n, as <see cref="Kernel{TVec, TOps}"/> packs one panel; B is read row by row. With <paramref name="sums"/>
    /// (n floats of scratch), each run of <paramref name="sumRows"/> rows is also summed per column from zero, in row
    /// order, and added to <paramref name="columnSums"/> at the run's end, as <see cref="ColumnSums.AddTo"/> does.</summary>
    private static void PackAllPanels<TVec, TOps>(
        float* b, int ldb, int n, int k, int panelWidth, int panels, float* all, float* sums, float* columnSums, int sumRows)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        nint panelStride = (nint)k * panelWidth;
        int full = n / panelWidth;
        if (sums != null)
            new Span<float>(sums, n).Clear();
        for (int kk = 0; kk < k; kk++)
        {
            float* source = b + (nint)kk * ldb, destination = all + (nint)kk * panelWidth;
            for (int p = 0; p < full; p++)
            {
                float* s = source + p * panelWidth, d = destination + p * panelStride;
                if (sums == null)
                {
                    for (int j = 0; j < panelWidth; j += TOps.Count)
                        TOps.Store(TOps.Load(s + j), d + j);
                }
                else
                {
                    float* sum = sums + p * panelWidth;
                    for (int j = 0; j < panelWidth; j += TOps.Count)
                    {
                        TVec value = TOps.Load(s + j);
                        TOps.Store(value, d + j);
                        TOps.Store(TOps.Add(TOps.Load(sum + j), value), sum + j);
                    }
                }
            }

            if (full < panels)
            {
                int width = n - full * panelWidth;
                float* d = destination + full * panelStride;
                new ReadOnlySpan<float>(source + full * panelWidth, width).CopyTo(new Span<float>(d, width));
                new Span<float>(d + width, panelWidth - width).Clear();
                for (int j = 0; sums != null && j < width; j++)
                    sums[full * panelWidth + j] += source[full * panelWidth + j];
            }

            if (sums != null && (kk + 1 == k || (kk + 1) % sumRows == 0))
            {
                // The run's sums into the total (total + sum, rounded once, as ColumnSums adds them), then cleared.
                for (int j = 0; j < n; j++)
                {
                    columnSums[j] += sums[j];
                    sums[j] = 0;
                }
            }
        }
    }

    private readonly struct Kernel<TVec, TOps> : IChunkKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        private readonly int _lda, _ldb, _ldc, _m, _n, _k, _slots, _rowGroups, _rowsPerGroup, _blockRows;
        private readonly bool _transposeA, _transposeB, _accumulate, _bias, _chained;

        /// <param name="blockRows">0 when op(A) is read where it is stored; else A holds op(A) in blocks of this many rows (<see cref="PackTransposedA"/>).</param>
        /// <param name="chained">Whether each output's chain starts from C (MultiplyAccumulateChained).</param>
        /// <param name="bias">Whether the third input holds a bias of n floats to add to every row of the product.</param>
        public Kernel(int lda, bool transposeA, int ldb, bool transposeB, int ldc, int m, int n, int k, bool accumulate, int slots, int rowGroups, int rowsPerGroup, int blockRows, bool bias, bool chained)
        {
            (_bias, _chained) = (bias, chained);
            (_lda, _transposeA, _ldb, _transposeB, _ldc, _m, _n, _k) = (lda, transposeA, ldb, transposeB, ldc, m, n, k);
            (_accumulate, _slots, _rowGroups, _rowsPerGroup, _blockRows) = (accumulate, slots, rowGroups, rowsPerGroup, blockRows);
        }

        /// <summary>Where op(A)'s row <paramref name="row"/> starts. A tile never crosses a packed block: packing happens only
        /// under 4-row tiles, and row groups, tiles and the row tail after them start at multiples of 4.</summary>
        private float* RowStart(float* a, int row, nint rowStride) =>
            _blockRows == 0 ? a + row * rowStride : a + (nint)(row - row % _blockRows) * _k + row % _blockRows;

        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int panelWidth = _slots * TOps.Count;
            int column = chunk / _rowGroups * panelWidth;
            int width = Math.Min(panelWidth, _n - column);
            int firstRow = chunk % _rowGroups * _rowsPerGroup;
            int endRow = Math.Min(_m, firstRow + _rowsPerGroup);
            // The third input holds every panel already packed (Run), else this chunk packs its own.
            float* packed;
            if (buffers.Input3Pointer != null)
                packed = buffers.Input3Pointer + (nint)(chunk / _rowGroups) * _k * panelWidth;
            else
            {
                packed = PinnedScratch.Get(ref t_panel, Math.Max(1, _k) * panelWidth);
                PackPanel(buffers.Input1Pointer, column, width, panelWidth, packed);
            }

            // op(A)[i, kk] = a[i·rowStride + kk·kStride] within a tile (from RowStart).
            nint rowStride = _transposeA || _blockRows != 0 ? 1 : _lda, kStride = _blockRows != 0 ? _blockRows : _transposeA ? _lda : 1;
            float* c = buffers.OutputPointer;
            float* bias = _bias ? buffers.Input2Pointer + column : null;
            // A full-width panel's tiles read and write C directly; a partial one goes through a tile of scratch.
            bool direct = width == panelWidth;
            // K blocking (BLIS's KC) of a panel deeper than L2 holds, every row tile of the chunk per block. A block
            // resumes each output's FMA chain from the value the previous block stored in C, so the chain (and its
            // bits) is the one of an unblocked pass; a chained product resumes from C in its first block too.
            // Accumulating products are not blocked: their C holds the sum they add to, not a partial chain. An Aᵀ read
            // in place is blocked at TransposedABlockDepth, whatever the panel's size.
            int blockDepth = _transposeA && _blockRows == 0 ? TransposedABlockDepth : Math.Max(1, L2PanelFloats / panelWidth);
            if (direct && (_chained || !_accumulate) && _k > blockDepth)
            {
                int kBegin = 0;
                do
                {
                    int kCount = Math.Min(blockDepth, _k - kBegin);
                    float* bk = packed + (nint)kBegin * panelWidth;
                    for (int row = firstRow; row < endRow;)
                    {
                        int rows = RowsAt(endRow - row);
                        float* ak = RowStart(buffers.Input0Pointer, row, rowStride) + kBegin * kStride;
                        Compute(ak, rowStride, kStride, bk, panelWidth, kCount, rows, c + (nint)row * _ldc + column, _ldc, false, _chained || kBegin > 0,
                            kBegin + kCount == _k ? bias : null);
                        row += rows;
                    }

                    kBegin += kCount;
                }
                while (kBegin < _k);

                return;
            }

            float* tile = stackalloc float[2 * TileRows * panelWidth];
            // Each tile asks for the next tile's lines of C while it computes: a tile of cold C otherwise stalls on them
            // when it stores its product (or, chained, loads its start). With caches flushed before each call (one
            // thread, 2026-11-30) the projections' dW went from 1.57-1.62 to 1.47 ms and their forward from 1.46 to
            // 1.35 ms; warm, the products were no slower.
            if (direct)
                PrefetchTile(c + (nint)firstRow * _ldc + column, RowsAt(endRow - firstRow), panelWidth);
            for (int row = firstRow; row < endRow;)
            {
                int rows = RowsAt(endRow - row);
                float* a = RowStart(buffers.Input0Pointer, row, rowStride);
                if (direct && row + rows < endRow)
                    PrefetchTile(c + (nint)(row + rows) * _ldc + column, RowsAt(endRow - row - rows), panelWidth);
                float* target = direct ? c + (nint)row * _ldc + column : tile;
                nint targetStride = direct ? _ldc : panelWidth;
                if (_chained)
                {
                    // The chains start from C: a partial panel's tile starts from its columns of C (zeros past them).
                    if (!direct)
                        Load(c + (nint)row * _ldc + column, tile, panelWidth, rows, width);
                    Compute(a, rowStride, kStride, packed, panelWidth, _k, rows, target, targetStride, false, true, null);
                    if (!direct)
                        Store(tile, panelWidth, c + (nint)row * _ldc + column, rows, width, false);
                    row += rows;
                    continue;
                }

                // The scratch tile takes the product alone; Store then adds it to C or copies it there.
                // A full panel's tiles add the bias as they store; a partial one adds it to C's columns after the copy (the
                // bias has no floats past n to load with the tile).
                Compute(a, rowStride, kStride, packed, panelWidth, _k, rows, target, targetStride, direct && _accumulate, false, direct ? bias : null);
                if (!direct)
                {
                    Store(tile, panelWidth, c + (nint)row * _ldc + column, rows, width, _accumulate);
                    if (bias != null)
                        AddBias(bias, c + (nint)row * _ldc + column, rows, width);
                }

                row += rows;
            }
        }

        /// <summary>C[r, j] += bias[j] over <paramref name="rows"/> rows of <paramref name="width"/> columns (one rounding each,
        /// as a separate pass would).</summary>
        private void AddBias(float* bias, float* c, int rows, int width)
        {
            for (int r = 0; r < rows; r++)
            {
                float* row = c + (nint)r * _ldc;
                int j = 0;
                for (; j <= width - TOps.Count; j += TOps.Count)
                    TOps.Store(TOps.Add(TOps.Load(row + j), TOps.Load(bias + j)), row + j);
                for (; j < width; j++)
                    row[j] += bias[j];
            }
        }

        /// <summary>Asks for the lines of a tile of C (<paramref name="rows"/> rows of a panel) into L1.</summary>
        private void PrefetchTile(float* c, int rows, int panelWidth)
        {
            if (!Sse.IsSupported)
                return;
            for (int r = 0; r < rows; r++)
            {
                float* line = c + (nint)r * _ldc;
                for (int j = 0; j < panelWidth; j += 16)
                    Sse.Prefetch0(line + j);
            }
        }

        /// <summary>On Vector512 8 rows for two-vector panels and 6 for four-vector ones, else 4, else the row tail one row
        /// at a time.</summary>
        private int RowsAt(int left) =>
            _slots == 2 && TOps.Count == 16 && left >= 2 * TileRows ? 2 * TileRows
            : _slots == 4 && TOps.Count == 16 && left >= WideTileRows ? WideTileRows
            : Math.Min(left, TileRows);

        /// <param name="bias">Null, or the bias of the tile's columns, added to each product as it is stored.</param>
        private void Compute(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, int kCount, int rows, float* c, nint ldc, bool add, bool resume, float* bias)
        {
            if (rows == WideTileRows)
                Tile6x4(a, rowStride, kStride, packed, panelWidth, kCount, c, ldc, add, resume, bias);
            else if (rows == 2 * TileRows)
                Tile8x2(a, rowStride, kStride, packed, panelWidth, kCount, c, ldc, add, resume, bias);
            else if (rows == TileRows && _slots == 4)
                Tile4x4(a, rowStride, kStride, packed, panelWidth, kCount, c, ldc, add, resume, bias);
            else if (rows == TileRows && _slots == 2)
                Tile4x2(a, rowStride, kStride, packed, panelWidth, kCount, c, ldc, add, resume, bias);
            else
            {
                for (int r = 0; r < rows; r++)
                    Row(a + r * rowStride, kStride, packed, panelWidth, kCount, c + r * ldc, add, resume, bias);
            }
        }

        /// <summary>Copies op(B)[0..k, column..column+width] into k rows of panelWidth floats, zeros past width.</summary>
        private void PackPanel(float* b, int column, int width, int panelWidth, float* packed)
        {
            if (!_transposeB)
            {
                // A stored B's panel is the one-panel case of packing every panel.
                PackAllPanels<TVec, TOps>(b + column, _ldb, width, _k, panelWidth, 1, packed, null, null, 0);
                return;
            }

            int first = 0;
            if (_transposeB && width == panelWidth && TOps.Count == 16 && Avx512F.IsSupported)
                first = PackTransposed16(b + (nint)column * _ldb, _ldb, _k, panelWidth, packed);

            for (int kk = first; kk < _k; kk++)
            {
                // op(B)[kk, j] = B[j, kk]: a column of the stored B.
                float* destination = packed + (nint)kk * panelWidth, source = b + (nint)column * _ldb + kk;
                for (int j = 0; j < width; j++)
                    destination[j] = source[(nint)j * _ldb];
                new Span<float>(destination + width, panelWidth - width).Clear();
            }
        }

        /// <summary>
        /// Packs op(B) = Bᵀ for a full panel sixteen k at a time: 16×16 blocks of the stored B (its rows are the panel's
        /// columns) loaded as rows and transposed in registers (the unpack / shuffle / 128-bit-lane shuffle network), so
        /// the copy reads and writes whole vectors instead of gathering one float per stored row. Returns the k done.
        /// </summary>
        private static int PackTransposed16(float* b, nint ldb, int k, int panelWidth, float* packed)
        {
            int kk = 0;
            for (; kk <= k - 16; kk += 16)
            {
                for (int j = 0; j < panelWidth; j += 16)
                {
                    float* s = b + j * ldb + kk;
                    Vector512<float> r0 = Vector512.Load(s), r1 = Vector512.Load(s + ldb), r2 = Vector512.Load(s + 2 * ldb), r3 = Vector512.Load(s + 3 * ldb);
                    Vector512<float> r4 = Vector512.Load(s + 4 * ldb), r5 = Vector512.Load(s + 5 * ldb), r6 = Vector512.Load(s + 6 * ldb), r7 = Vector512.Load(s + 7 * ldb);
                    Vector512<float> r8 = Vector512.Load(s + 8 * ldb), r9 = Vector512.Load(s + 9 * ldb), r10 = Vector512.Load(s + 10 * ldb), r11 = Vector512.Load(s + 11 * ldb);
                    Vector512<float> r12 = Vector512.Load(s + 12 * ldb), r13 = Vector512.Load(s + 13 * ldb), r14 = Vector512.Load(s + 14 * ldb), r15 = Vector512.Load(s + 15 * ldb);

                    // Pairs of rows interleaved, then quads, within each 128-bit lane.
                    Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1), t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
                    Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5), t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
                    Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9), t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
                    Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13), t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);
                    r0 = Avx512F.Shuffle(t0, t2, 0x44); r1 = Avx512F.Shuffle(t0, t2, 0xEE); r2 = Avx512F.Shuffle(t1, t3, 0x44); r3 = Avx512F.Shuffle(t1, t3, 0xEE);
                    r4 = Avx512F.Shuffle(t4, t6, 0x44); r5 = Avx512F.Shuffle(t4, t6, 0xEE); r6 = Avx512F.Shuffle(t5, t7, 0x44); r7 = Avx512F.Shuffle(t5, t7, 0xEE);
                    r8 = Avx512F.Shuffle(t8, t10, 0x44); r9 = Avx512F.Shuffle(t8, t10, 0xEE); r10 = Avx512F.Shuffle(t9, t11, 0x44); r11 = Avx512F.Shuffle(t9, t11, 0xEE);
                    r12 = Avx512F.Shuffle(t12, t14, 0x44); r13 = Avx512F.Shuffle(t12, t14, 0xEE); r14 = Avx512F.Shuffle(t13, t15, 0x44); r15 = Avx512F.Shuffle(t13, t15, 0xEE);

                    // Then the four 128-bit lanes across groups of four rows, and across groups of eight.
                    t0 = Avx512F.Shuffle4x128(r0, r4, 0x88); t1 = Avx512F.Shuffle4x128(r1, r5, 0x88); t2 = Avx512F.Shuffle4x128(r2, r6, 0x88); t3 = Avx512F.Shuffle4x128(r3, r7, 0x88);
                    t4 = Avx512F.Shuffle4x128(r0, r4, 0xDD); t5 = Avx512F.Shuffle4x128(r1, r5, 0xDD); t6 = Avx512F.Shuffle4x128(r2, r6, 0xDD); t7 = Avx512F.Shuffle4x128(r3, r7, 0xDD);
                    t8 = Avx512F.Shuffle4x128(r8, r12, 0x88); t9 = Avx512F.Shuffle4x128(r9, r13, 0x88); t10 = Avx512F.Shuffle4x128(r10, r14, 0x88); t11 = Avx512F.Shuffle4x128(r11, r15, 0x88);
                    t12 = Avx512F.Shuffle4x128(r8, r12, 0xDD); t13 = Avx512F.Shuffle4x128(r9, r13, 0xDD); t14 = Avx512F.Shuffle4x128(r10, r14, 0xDD); t15 = Avx512F.Shuffle4x128(r11, r15, 0xDD);

                    float* d = packed + (nint)kk * panelWidth + j;
                    nint p = panelWidth;
                    Avx512F.Shuffle4x128(t0, t8, 0x88).Store(d); Avx512F.Shuffle4x128(t1, t9, 0x88).Store(d + p);
                    Avx512F.Shuffle4x128(t2, t10, 0x88).Store(d + 2 * p); Avx512F.Shuffle4x128(t3, t11, 0x88).Store(d + 3 * p);
                    Avx512F.Shuffle4x128(t4, t12, 0x88).Store(d + 4 * p); Avx512F.Shuffle4x128(t5, t13, 0x88).Store(d + 5 * p);
                    Avx512F.Shuffle4x128(t6, t14, 0x88).Store(d + 6 * p); Avx512F.Shuffle4x128(t7, t15, 0x88).Store(d + 7 * p);
                    Avx512F.Shuffle4x128(t0, t8, 0xDD).Store(d + 8 * p); Avx512F.Shuffle4x128(t1, t9, 0xDD).Store(d + 9 * p);
                    Avx512F.Shuffle4x128(t2, t10, 0xDD).Store(d + 10 * p); Avx512F.Shuffle4x128(t3, t11, 0xDD).Store(d + 11 * p);
                    Avx512F.Shuffle4x128(t4, t12, 0xDD).Store(d + 12 * p); Avx512F.Shuffle4x128(t5, t13, 0xDD).Store(d + 13 * p);
                    Avx512F.Shuffle4x128(t6, t14, 0xDD).Store(d + 14 * p); Avx512F.Shuffle4x128(t7, t15, 0xDD).Store(d + 15 * p);
                }
            }

            return kk;
        }

        /// <summary>Copies <paramref name="rows"/> rows of C's <paramref name="width"/> columns into a tile, zeros past them.</summary>
        private void Load(float* c, float* tile, int panelWidth, int rows, int width)
        {
            for (int r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(c + (nint)r * _ldc, width).CopyTo(new Span<float>(tile + r * panelWidth, width));
                new Span<float>(tile + r * panelWidth + width, panelWidth - width).Clear();
            }
        }

        private void Store(float* tile, int panelWidth, float* c, int rows, int width, bool add)
        {
            for (int r = 0; r < rows; r++)
            {
                float* source = tile + r * panelWidth, destination = c + (nint)r * _ldc;
                if (add)
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

        /// <summary>Writes (or with <paramref name="add"/> adds to C) the 4×4-vector tile's product over kCount.</summary>
        private static void Tile4x4(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, int kCount, float* c, nint ldc, bool add, bool resume, float* bias)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
            float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            TVec c00 = Start(r0, resume), c01 = Start(r0 + w, resume), c02 = Start(r0 + 2 * w, resume), c03 = Start(r0 + 3 * w, resume);
            TVec c10 = Start(r1, resume), c11 = Start(r1 + w, resume), c12 = Start(r1 + 2 * w, resume), c13 = Start(r1 + 3 * w, resume);
            TVec c20 = Start(r2, resume), c21 = Start(r2 + w, resume), c22 = Start(r2 + 2 * w, resume), c23 = Start(r2 + 3 * w, resume);
            TVec c30 = Start(r3, resume), c31 = Start(r3 + w, resume), c32 = Start(r3 + 2 * w, resume), c33 = Start(r3 + 3 * w, resume);
            float* bk = packed;
            nint offset = 0;
            for (int kk = 0; kk < kCount; kk++, bk += panelWidth, offset += kStride)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w), b2 = TOps.Load(bk + 2 * w), b3 = TOps.Load(bk + 3 * w);
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01); c02 = TOps.MultiplyAdd(x, b2, c02); c03 = TOps.MultiplyAdd(x, b3, c03);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11); c12 = TOps.MultiplyAdd(x, b2, c12); c13 = TOps.MultiplyAdd(x, b3, c13);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21); c22 = TOps.MultiplyAdd(x, b2, c22); c23 = TOps.MultiplyAdd(x, b3, c23);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31); c32 = TOps.MultiplyAdd(x, b2, c32); c33 = TOps.MultiplyAdd(x, b3, c33);
            }

            Put(c00, r0, add, bias, 0); Put(c01, r0 + w, add, bias, w); Put(c02, r0 + 2 * w, add, bias, 2 * w); Put(c03, r0 + 3 * w, add, bias, 3 * w);
            Put(c10, r1, add, bias, 0); Put(c11, r1 + w, add, bias, w); Put(c12, r1 + 2 * w, add, bias, 2 * w); Put(c13, r1 + 3 * w, add, bias, 3 * w);
            Put(c20, r2, add, bias, 0); Put(c21, r2 + w, add, bias, w); Put(c22, r2 + 2 * w, add, bias, 2 * w); Put(c23, r2 + 3 * w, add, bias, 3 * w);
            Put(c30, r3, add, bias, 0); Put(c31, r3 + w, add, bias, w); Put(c32, r3 + 2 * w, add, bias, 2 * w); Put(c33, r3 + 3 * w, add, bias, 3 * w);
        }

        /// <summary>As <see cref="Tile4x4"/> over six rows (Vector512 only: 24 accumulators, see <see cref="WideTileRows"/>).</summary>
        private static void Tile6x4(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, int kCount, float* c, nint ldc, bool add, bool resume, float* bias)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride, a4 = a3 + rowStride, a5 = a4 + rowStride;
            float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;
            TVec c00 = Start(r0, resume), c01 = Start(r0 + w, resume), c02 = Start(r0 + 2 * w, resume), c03 = Start(r0 + 3 * w, resume);
            TVec c10 = Start(r1, resume), c11 = Start(r1 + w, resume), c12 = Start(r1 + 2 * w, resume), c13 = Start(r1 + 3 * w, resume);
            TVec c20 = Start(r2, resume), c21 = Start(r2 + w, resume), c22 = Start(r2 + 2 * w, resume), c23 = Start(r2 + 3 * w, resume);
            TVec c30 = Start(r3, resume), c31 = Start(r3 + w, resume), c32 = Start(r3 + 2 * w, resume), c33 = Start(r3 + 3 * w, resume);
            TVec c40 = Start(r4, resume), c41 = Start(r4 + w, resume), c42 = Start(r4 + 2 * w, resume), c43 = Start(r4 + 3 * w, resume);
            TVec c50 = Start(r5, resume), c51 = Start(r5 + w, resume), c52 = Start(r5 + 2 * w, resume), c53 = Start(r5 + 3 * w, resume);
            float* bk = packed;
            nint offset = 0;
            for (int kk = 0; kk < kCount; kk++, bk += panelWidth, offset += kStride)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w), b2 = TOps.Load(bk + 2 * w), b3 = TOps.Load(bk + 3 * w);
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01); c02 = TOps.MultiplyAdd(x, b2, c02); c03 = TOps.MultiplyAdd(x, b3, c03);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11); c12 = TOps.MultiplyAdd(x, b2, c12); c13 = TOps.MultiplyAdd(x, b3, c13);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21); c22 = TOps.MultiplyAdd(x, b2, c22); c23 = TOps.MultiplyAdd(x, b3, c23);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31); c32 = TOps.MultiplyAdd(x, b2, c32); c33 = TOps.MultiplyAdd(x, b3, c33);
                x = TOps.Broadcast(a4[offset]);
                c40 = TOps.MultiplyAdd(x, b0, c40); c41 = TOps.MultiplyAdd(x, b1, c41); c42 = TOps.MultiplyAdd(x, b2, c42); c43 = TOps.MultiplyAdd(x, b3, c43);
                x = TOps.Broadcast(a5[offset]);
                c50 = TOps.MultiplyAdd(x, b0, c50); c51 = TOps.MultiplyAdd(x, b1, c51); c52 = TOps.MultiplyAdd(x, b2, c52); c53 = TOps.MultiplyAdd(x, b3, c53);
            }

            Put(c00, r0, add, bias, 0); Put(c01, r0 + w, add, bias, w); Put(c02, r0 + 2 * w, add, bias, 2 * w); Put(c03, r0 + 3 * w, add, bias, 3 * w);
            Put(c10, r1, add, bias, 0); Put(c11, r1 + w, add, bias, w); Put(c12, r1 + 2 * w, add, bias, 2 * w); Put(c13, r1 + 3 * w, add, bias, 3 * w);
            Put(c20, r2, add, bias, 0); Put(c21, r2 + w, add, bias, w); Put(c22, r2 + 2 * w, add, bias, 2 * w); Put(c23, r2 + 3 * w, add, bias, 3 * w);
            Put(c30, r3, add, bias, 0); Put(c31, r3 + w, add, bias, w); Put(c32, r3 + 2 * w, add, bias, 2 * w); Put(c33, r3 + 3 * w, add, bias, 3 * w);
            Put(c40, r4, add, bias, 0); Put(c41, r4 + w, add, bias, w); Put(c42, r4 + 2 * w, add, bias, 2 * w); Put(c43, r4 + 3 * w, add, bias, 3 * w);
            Put(c50, r5, add, bias, 0); Put(c51, r5 + w, add, bias, w); Put(c52, r5 + 2 * w, add, bias, 2 * w); Put(c53, r5 + 3 * w, add, bias, 3 * w);
        }

        /// <summary>Two row tiles of a two-vector panel at once: 16 accumulators, as many as <see cref="Tile4x4"/>.</summary>
        private static void Tile8x2(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, int kCount, float* c, nint ldc, bool add, bool resume, float* bias)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
            float* a4 = a3 + rowStride, a5 = a4 + rowStride, a6 = a5 + rowStride, a7 = a6 + rowStride;
            float* r0 = c, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc, r6 = r5 + ldc, r7 = r6 + ldc;
            TVec c00 = Start(r0, resume), c01 = Start(r0 + w, resume), c10 = Start(r1, resume), c11 = Start(r1 + w, resume);
            TVec c20 = Start(r2, resume), c21 = Start(r2 + w, resume), c30 = Start(r3, resume), c31 = Start(r3 + w, resume);
            TVec c40 = Start(r4, resume), c41 = Start(r4 + w, resume), c50 = Start(r5, resume), c51 = Start(r5 + w, resume);
            TVec c60 = Start(r6, resume), c61 = Start(r6 + w, resume), c70 = Start(r7, resume), c71 = Start(r7 + w, resume);
            float* bk = packed;
            nint offset = 0;
            for (int kk = 0; kk < kCount; kk++, bk += panelWidth, offset += kStride)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w);
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31);
                x = TOps.Broadcast(a4[offset]);
                c40 = TOps.MultiplyAdd(x, b0, c40); c41 = TOps.MultiplyAdd(x, b1, c41);
                x = TOps.Broadcast(a5[offset]);
                c50 = TOps.MultiplyAdd(x, b0, c50); c51 = TOps.MultiplyAdd(x, b1, c51);
                x = TOps.Broadcast(a6[offset]);
                c60 = TOps.MultiplyAdd(x, b0, c60); c61 = TOps.MultiplyAdd(x, b1, c61);
                x = TOps.Broadcast(a7[offset]);
                c70 = TOps.MultiplyAdd(x, b0, c70); c71 = TOps.MultiplyAdd(x, b1, c71);
            }

            Put(c00, r0, add, bias, 0); Put(c01, r0 + w, add, bias, w);
            Put(c10, r1, add, bias, 0); Put(c11, r1 + w, add, bias, w);
            Put(c20, r2, add, bias, 0); Put(c21, r2 + w, add, bias, w);
            Put(c30, r3, add, bias, 0); Put(c31, r3 + w, add, bias, w);
            Put(c40, r4, add, bias, 0); Put(c41, r4 + w, add, bias, w);
            Put(c50, r5, add, bias, 0); Put(c51, r5 + w, add, bias, w);
            Put(c60, r6, add, bias, 0); Put(c61, r6 + w, add, bias, w);
            Put(c70, r7, add, bias, 0); Put(c71, r7 + w, add, bias, w);
        }

        private static void Tile4x2(float* a, nint rowStride, nint kStride, float* packed, int panelWidth, int kCount, float* c, nint ldc, bool add, bool resume, float* bias)
        {
            int w = TOps.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
            float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            TVec c00 = Start(r0, resume), c01 = Start(r0 + w, resume), c10 = Start(r1, resume), c11 = Start(r1 + w, resume);
            TVec c20 = Start(r2, resume), c21 = Start(r2 + w, resume), c30 = Start(r3, resume), c31 = Start(r3 + w, resume);
            float* bk = packed;
            nint offset = 0;
            for (int kk = 0; kk < kCount; kk++, bk += panelWidth, offset += kStride)
            {
                TVec b0 = TOps.Load(bk), b1 = TOps.Load(bk + w);
                TVec x = TOps.Broadcast(a0[offset]);
                c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01);
                x = TOps.Broadcast(a1[offset]);
                c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11);
                x = TOps.Broadcast(a2[offset]);
                c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21);
                x = TOps.Broadcast(a3[offset]);
                c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31);
            }

            Put(c00, r0, add, bias, 0); Put(c01, r0 + w, add, bias, w);
            Put(c10, r1, add, bias, 0); Put(c11, r1 + w, add, bias, w);
            Put(c20, r2, add, bias, 0); Put(c21, r2 + w, add, bias, w);
            Put(c30, r3, add, bias, 0); Put(c31, r3 + w, add, bias, w);
        }

        /// <summary>One row of the panel, a vector at a time: the row tail, in the same k order as the tiles.</summary>
        private void Row(float* a, nint kStride, float* packed, int panelWidth, int kCount, float* c, bool add, bool resume, float* bias)
        {
            int w = TOps.Count;
            for (int slot = 0; slot < _slots; slot++)
            {
                TVec acc = Start(c + slot * w, resume);
                float* bk = packed + slot * w;
                for (int kk = 0; kk < kCount; kk++, bk += panelWidth)
                    acc = TOps.MultiplyAdd(TOps.Broadcast(a[kk * kStride]), TOps.Load(bk), acc);
                Put(acc, c + slot * w, add, bias, slot * w);
            }
        }

        /// <summary>An accumulator's start: zero, or with <paramref name="resume"/> the chain C holds (from the previous k block, or
        /// a chained product's starting value).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TVec Start(float* c, bool resume) => resume ? TOps.Load(c) : TOps.Zero;

        /// <summary>Stores a product, or adds it to what C holds (C + product, rounded once, as the scalar add).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(TVec product, float* c, bool add, float* bias, int offset) =>
            TOps.Store(add ? TOps.Add(TOps.Load(c), product) : bias != null ? TOps.Add(product, TOps.Load(bias + offset)) : product, c);
    }
}
