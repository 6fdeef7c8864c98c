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
/// <para><b>Base 2.</b> The scores product multiplies by <see cref="ScoreScale"/>, log₂e/√HeadDim, in the place of
/// 1/√HeadDim (the same one multiply per score), so the scores are in base-2 units and e^((s − m)/√d) = 2^(s' − m'):
/// the softmax needs no multiply by log₂e. The subtraction stays exact at the maximum, so the row's largest score gets
/// weight 1 exactly and a single visible key passes its value row through bit for bit; folding the scale into the
/// subtraction as one FMA (s·c − m·c) would round m·c and give the maximum 2^ε ≠ 1.</para>
/// <para><b>Exp.</b> Each weight is <c>2^(score − max)</c> by <c>ExpOperator.Exp2BelowOverflow</c> at the row's
/// lanes (<c>float.Exp2</c> at scalar lanes), stored over the score: the weights are not normalised. With AVX-512 that
/// is 10 vector operations per 16 weights with the subtraction and the running sum (14 for exp before, plus one more
/// for log₂e).</para>
/// <para><b>Sum.</b> Each lane adds the weights of <see cref="SumBlockVectors"/> consecutive vectors in float (relative
/// error ≤ 8·2⁻²⁴), then the block's lanes are widened to double and added lane by lane into two double vectors (lower
/// and upper halves), which are added lane by lane at the end and reduced by one <c>Vector*.Sum</c>. At scalar lanes every weight is
/// added to one double. The order depends only on the row, never on threads or chunks.</para>
/// <para><b>Normalisation.</b> The row's factor is <c>(float)(1 / Σ)</c>, computed in double. P·V multiplies each of
/// the row's outputs by it after its multiply-add chain (HeadDim multiplies per row instead of SequenceLength loads,
/// multiplies and stores; with the vscalefps exp of the same commit, 399164f, attention S2 on one thread went from
/// 58 % to 68 % of peak).</para>
/// <para><b>Log-sum-exp.</b> A training forward pass keeps ln Σ_j e^(S_j/√d) = (m' − log₂(1/Σ))·ln 2, and the backward
/// recomputes P = 2^(s' − LSE·log₂e) from the same base-2 scores.</para>
/// <para>Accuracy: a weight within 2 ulp of 2^(score − max), the sum within ~8·2⁻²⁴ relative, the factor rounded once: together a
/// few float ulps per output beyond P·V's own multiply-add chain.</para>
/// </remarks>
internal static class SoftmaxContract
{
    /// <summary>Vectors of weights summed in float per lane before the block is widened into the double sums: widening
    /// every vector cost five instructions per eight weights' worth of exp.</summary>
    public const int SumBlockVectors = 8;

    /// <summary>log₂e, the factor that turns a natural exponent into a base-2 one.</summary>
    public const double Log2E = 1.4426950408889634;

    /// <summary>What the scores product multiplies Q·Kᵀ by: log₂e/√<paramref name="headDim"/>, rounded to float once.</summary>
    public static float ScoreScale(int headDim) => (float)(Log2E / System.Math.Sqrt(headDim));
}
