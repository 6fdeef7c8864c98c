using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Planning;

/// <summary>
/// The register tile per ISA branch, in tinyBLAS's terms: RM rows (<see cref="ChunkSizing.RowTile"/>, the same on
/// every branch) by RN vectors.
/// </summary>
internal static class TileTable
{
    /// <summary>
    /// RN, vectors per panel. Vector512: 4 — 4×4 accumulators + 4 B vectors + 1 broadcast = 21 of the 32 zmm registers.
    /// Vector256: 2 — 4×2 + 2 + 1 = 11 of the 16 ymm registers an AVX2-only CPU has (16 accumulators would spill).
    /// Scalar: 4 — 16 float accumulators, which the JIT keeps in the 16 xmm registers or spills cheaply.
    /// Narrow products on a wide branch (fewer columns than lanes) use Vector128/Vector256 slots with the branch's RN.
    /// </summary>
    public static int PanelSlots(IsaBranch isa) => isa switch
    {
        IsaBranch.Vector512 => 4,
        IsaBranch.Vector256 => 2,
        _ => 4,
    };

    /// <summary>
    /// RN of P·V. Vector512: 2, run as pairs of row tiles (8×2): P·V reads V, a whole head of it per row tile, from L2,
    /// and 8 rows per V vector halve that traffic (at 512 tokens and head dim 64, 4×4 tiles left P·V at ~80 % of peak).
    /// Other branches, and narrower slots on Vector512, as <see cref="PanelSlots"/>: 8×2 ymm accumulators would not fit
    /// AVX2's 16 registers.
    /// </summary>
    public static int AttentionOutputPanelSlots(IsaBranch isa, int lanes) =>
        isa == IsaBranch.Vector512 && lanes == (int)IsaBranch.Vector512 ? 2 : PanelSlots(isa);

    /// <summary>Whether a product's row tiles run in pairs: narrow products on every branch (too few accumulators in one
    /// tile to cover the FMA latency), and P·V's two-slot panels on Vector512.</summary>
    public static bool PairsRowTiles(IsaBranch isa, ColumnLayout layout) =>
        layout.SlotCount <= 2 || (isa == IsaBranch.Vector512 && layout.Lanes == (int)IsaBranch.Vector512 && layout.PanelSlots <= 2);

    /// <summary>
    /// A kernel is fully unrolled when, on every branch, each of its products needs at most this many
    /// (k step × column slot) statements per row tile; beyond it straight-line code grows faster than it helps.
    /// </summary>
    public const int UnrollBudget = 48;
}
