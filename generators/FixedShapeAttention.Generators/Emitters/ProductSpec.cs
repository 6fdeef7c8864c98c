using System;
using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// One matrix product <c>C = epilogue(A·B)</c> as the generated code sees it: which refs hold A, B and C, their
/// constant strides, the depth and the column layout of the branch being emitted.
/// </summary>
internal sealed class ProductSpec
{
    public ProductSpec(string a, int lda, string b, int ldb, string c, int ldc, int depth, ColumnLayout layout)
    {
        A = a;
        Lda = lda;
        B = b;
        Ldb = ldb;
        C = c;
        Ldc = ldc;
        Depth = depth;
        Layout = layout;
    }

    public string A { get; }

    public int Lda { get; }

    public string B { get; }

    public int Ldb { get; }

    public string C { get; }

    public int Ldc { get; }

    public int Depth { get; }

    public ColumnLayout Layout { get; }

    /// <summary>Unroll k and the column panels into straight-line code.</summary>
    public bool Unroll { get; set; }

    /// <summary>Scores of a causal kernel: skip column panels that start after this row variable (all masked).</summary>
    public string? SkipColumnsAfter { get; set; }

    /// <summary>P·V of a causal kernel: row r of the tile reads keys 0..rowStart+r only; this names rowStart.</summary>
    public string? CausalRowStart { get; set; }

    /// <summary>B is prepacked: each column block stored contiguously, k-major, its slots side by side (see MatMulEmitter.Block).</summary>
    public bool PackedB { get; set; }

    /// <summary>When set, each row tile declares <c>int rowStart = {origin} + tile·RM</c>: its first row in the sequence.</summary>
    public string? RowStartOrigin { get; set; }

    /// <summary>When set, only the full panels [First, First + Count) and, if OwnsRemainder, the remainder block are
    /// computed: a chunk that owns a range of columns instead of a range of rows.</summary>
    public PanelRange? Panels { get; set; }

    /// <summary>Run row tiles in pairs (twice RM rows per register tile) where the pair exists.</summary>
    public bool PairRowTiles { get; set; }

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

/// <summary>Names of the variables that bound a column-split chunk's panels (see <see cref="ProductSpec.Panels"/>).</summary>
internal sealed record PanelRange(string First, string Count, string OwnsRemainder);
