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
    /// A kernel is fully unrolled when, on every branch, each of its products needs at most this many
    /// (k step × column slot) statements per row tile; beyond it straight-line code grows faster than it helps.
    /// </summary>
    public const int UnrollBudget = 48;
}
