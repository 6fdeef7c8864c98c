namespace FixedShapeAttention.Kernels;

/// <summary>
/// The register tile per vector width, in tinyBLAS's terms: RM rows (<see cref="Scheduling.ChunkSizing.RowTile"/>,
/// the same on every width) by RN vectors. Linked into the generator, so the generated kernels and the runtime-shape
/// kernels read one table. Widths are float lanes: 16 (Vector512), 8 (Vector256), 4 (Vector128), 1 (scalar).
/// </summary>
internal static class TileTable
{
    /// <summary>
    /// The vector lanes a product of <paramref name="columns"/> columns uses on the branch of <paramref name="branchLanes"/>
    /// lanes: the branch's width, or the widest narrower vector the columns fill (8, then 4), or scalar below four columns.
    /// The lanes fix whether an output is a fused multiply-add chain (vectors) or a plain one (scalar), and which width
    /// of exp the softmax uses, so both kernel families must choose them by this one rule to compute the same bits.
    /// </summary>
    public static int LanesFor(int branchLanes, int columns)
    {
        for (int lanes = branchLanes; lanes >= 4; lanes /= 2)
        {
            if (columns >= lanes)
            {
                return lanes;
            }
        }

        return 1;
    }

    /// <summary>
    /// RN, vectors per panel. Vector512: 4 — 4×4 accumulators + 4 B vectors + 1 broadcast = 21 of the 32 zmm registers.
    /// Vector256: 2 — 4×2 + 2 + 1 = 11 of the 16 ymm registers an AVX2-only CPU has (16 accumulators would spill).
    /// Vector128: 2 — the branch runs on x64 without AVX2 (16 xmm registers, and a multiply and an add per step instead
    /// of an FMA, one more register for the product) as well as on ARM64's 32 NEON registers; 4×2 fits both.
    /// Scalar: 4 — 16 float accumulators, which the JIT keeps in the 16 xmm registers or spills cheaply.
    /// Narrow products on a wide branch (fewer columns than lanes) use Vector128/Vector256 slots with the branch's RN.
    /// </summary>
    public static int PanelSlots(int branchLanes) => branchLanes switch
    {
        16 => 4,
        8 => 2,
        4 => 2,
        _ => 4,
    };

    /// <summary>
    /// RN of P·V. Vector512: 2, run as pairs of row tiles (8×2): P·V reads V, a whole head of it per row tile, from L2,
    /// and 8 rows per V vector halve that traffic (at 512 tokens and head dim 64, 4×4 tiles left P·V at ~80 % of peak).
    /// Other branches, and narrower slots on Vector512, as <see cref="PanelSlots"/>: 8×2 ymm accumulators would not fit
    /// AVX2's 16 registers.
    /// </summary>
    public static int AttentionOutputPanelSlots(int branchLanes, int lanes) =>
        branchLanes == 16 && lanes == 16 ? 2 : PanelSlots(branchLanes);

    /// <summary>Whether a product's row tiles run in pairs: narrow products on every branch (too few accumulators in one
    /// tile to cover the FMA latency), and P·V's two-slot panels on Vector512.</summary>
    public static bool PairsRowTiles(int branchLanes, int slotCount, int lanes, int panelSlots) =>
        slotCount <= 2 || (branchLanes == 16 && lanes == 16 && panelSlots <= 2);

    /// <summary>
    /// A generated kernel is fully unrolled on an ISA branch when its products together need at most this many
    /// multiply-add statements unrolled (RM rows × column slots × depth, summed over the products, on that branch
    /// alone); beyond it straight-line code grows faster than it helps.
    /// </summary>
    public const int UnrollBudget = 48;
}
