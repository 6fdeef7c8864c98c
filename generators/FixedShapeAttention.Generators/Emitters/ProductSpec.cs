namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// One matrix product <c>C = epilogue(A·B)</c> as the generated code spells it: which refs hold A, B and C, their
/// constant strides, and the <see cref="ProductPlan"/> of the branch being emitted (depth, layout, loops, pairing,
/// column share), which decides everything else.
/// </summary>
internal sealed class ProductSpec
{
    public ProductSpec(string a, int lda, string b, int ldb, string c, int ldc, ProductPlan plan)
    {
        A = a;
        Lda = lda;
        B = b;
        Ldb = ldb;
        C = c;
        Ldc = ldc;
        Plan = plan;
    }

    public string A { get; }

    public int Lda { get; }

    public string B { get; }

    public int Ldb { get; }

    public string C { get; }

    public int Ldc { get; }

    public ProductPlan Plan { get; }

    public int Depth => Plan.Depth;

    public ColumnLayout Layout => Plan.Layout;

    /// <summary>Scores of a causal kernel: skip column panels that start after this row variable (all masked).</summary>
    public string? SkipColumnsAfter { get; set; }

    /// <summary>
    /// Scores of a causal kernel, with <see cref="SkipColumnsAfter"/>: the chunk's first row, so that each column block's row
    /// tile loop starts at the first tile whose last row reaches the block (the tiles before it see none of its keys). The
    /// outputs skipped are masked ones, which every reader of the scores leaves alone (the softmax and the backward row
    /// pass read keys 0..row only); the others are the same FMA chains as before, so no bit changes.
    /// </summary>
    public string? SkipTilesBeforeColumnFrom { get; set; }

    /// <summary>P·V of a causal kernel: row r of the tile reads keys 0..rowStart+r only; this names rowStart.</summary>
    public string? CausalRowStart { get; set; }

    /// <summary>
    /// The step between A's elements along k (1: A row-major, row r at <c>r·Lda</c>). A transposed product (dK = dSᵀ·Q in
    /// attention backward) reads the stored matrix column by column: <c>Lda</c> 1 and this the stored row's stride.
    /// </summary>
    public int ADepthStride { get; set; } = 1;

    /// <summary>
    /// A causal transposed product (dK, dV): A's row r is zero before k = rowStart + r, so the k loop starts at the tile's
    /// first row, named here (the triangle inside the tile reads the zeros the row pass wrote). Unrolled bodies keep the
    /// full depth: their k are constants.
    /// </summary>
    public string? DepthFromRowStart { get; set; }

    /// <summary>B is row-major or packed as the kernel's <c>TWeights</c> says (packed: each column block stored
    /// contiguously, k-major, its slots side by side; see MatMulEmitter.Block).</summary>
    public bool EitherLayout { get; set; }

    /// <summary>The ref of the worker's scratch into which the plain-array instantiation copies each full panel of B
    /// (when the plan's <see cref="ProductPlan.PanelScratchFloats"/> is not 0).</summary>
    public string? PanelScratch { get; set; }

    /// <summary>When set, each row tile declares <c>int rowStart = {origin} + tile·RM</c>: its first row in the sequence.</summary>
    public string? RowStartOrigin { get; set; }

    /// <summary>Per-column values loaded once per column slot before the stores (bias vectors), by name prefix.</summary>
    public string? ColumnOperand { get; set; }

    /// <summary>
    /// Per-row factors (the softmax reciprocals), a <c>ref float</c> indexed by the row within the chunk: every output of
    /// row r is multiplied by <c>{RowOperand}[r]</c> after the epilogue, once per output instead of once per weight.
    /// </summary>
    public string? RowOperand { get; set; }

    /// <summary>Turns an accumulator into the value stored: (isa, accumulator, column operand or null) → expression.</summary>
    public Func<IsaSyntax, string, string?, string> Epilogue { get; set; } = (_, accumulator, _) => accumulator;
}
