// The attention softmax's contract, written once for both kernel families: RowSoftmax (the runtime-shape kernels)
// implements it and the generator's SoftmaxEmitter emits it. Keep it netstandard2.0-clean, so the generator can link
// it as it links ChunkSizing.cs and TileTable.cs.

namespace FixedShapeAttention.Kernels;

/// <summary>
/// How a row of attention scores becomes weights, following ggml's soft_max (ggml-cpu/vec.cpp) rather than
/// TensorPrimitives.SoftMax, which does not subtract the maximum and so overflows exp for scores above ~88.
/// </summary>
/// <remarks>
/// <para><b>Width.</b> The row is padded to whole vectors of the scores product's lanes
/// (<see cref="TileTable.LanesFor"/> of the padded row on the branch); keys past the visible ones (masked, in the
/// future of a causal query, or padding) are set to −∞ first, so their weight is exactly 0. A causal row stops at the
/// first whole vector past its own position: P·V reads no further.</para>
/// <para><b>Max.</b> The hardware max (<c>MaxNative</c>, or <c>MathF.Max</c> at scalar lanes) over the vectors,
/// starting from −∞, then <c>KernelMath.MaxAcross</c> across the lanes. A row whose max is −∞ has no visible key: its
/// weights become 0 and its 1/Σ is 1, so its outputs are 0, not 0/0 = NaN. The hardware max may skip NaN, so a row of
/// NaN scores lands there too: any entry other than −∞ is then NaN, the weights are set to NaN and the row stays NaN.</para>
/// <para><b>Exp.</b> Each weight is <c>exp(score − max)</c> by <c>ExpOperator.InvokeBelowOverflow</c> at the row's
/// lanes (<c>MathF.Exp</c> at scalar lanes), stored over the score: the weights are not normalised.</para>
/// <para><b>Sum.</b> Each lane adds the weights of <see cref="SumBlockVectors"/> consecutive vectors in float (relative
/// error ≤ 8·2⁻²⁴), then the block's lanes are widened to double and added lane by lane into two double vectors (lower
/// and upper halves), which are reduced by <c>Vector*.Sum</c> at the end, lower + upper. At scalar lanes every weight is
/// added to one double. The order depends only on the row, never on threads or chunks.</para>
/// <para><b>Normalisation.</b> The row's factor is <c>(float)(1 / Σ)</c>, computed in double. P·V multiplies each of
/// the row's outputs by it after its multiply-add chain (HeadDim multiplies per row instead of SequenceLength loads,
/// multiplies and stores; with the vscalefps exp of the same commit, 399164f, attention S2 on one thread went from
/// 58 % to 68 % of peak).</para>
/// <para>Accuracy: a weight within ~1 ulp of exp, the sum within ~8·2⁻²⁴ relative, the factor rounded once: together a
/// few float ulps per output beyond P·V's own multiply-add chain.</para>
/// </remarks>
internal static class SoftmaxContract
{
    /// <summary>Vectors of weights summed in float per lane before the block is widened into the double sums: widening
    /// every vector cost five instructions per eight weights' worth of exp.</summary>
    public const int SumBlockVectors = 8;
}
