using System;

namespace FixedShapeAttention.Tests;

/// <summary>
/// How far a float32 kernel may be from the float64 reference: |got − want| ≤ Absolute + Relative·|want|.
/// </summary>
/// <remarks>
/// Provenance. A float32 dot product of depth n has error at most γₙ·Σ|aᵢbᵢ| with γₙ ≈ n·2⁻²⁴ (Higham,
/// Accuracy and Stability of Numerical Algorithms, §3.1); with random signs it behaves like √n·2⁻²⁴·‖·‖. The test
/// data keep every Σ|aᵢbᵢ| near 1 (inputs in [−1, 1], weights scaled by 1/√fan-in; q and k in [−2, 2] so scores spread), so the deepest product in the
/// suite (3072, BERT-base's FFN) has a worst case of 1.8e-4 and a typical error of 3e-6. Measured on this suite's
/// data (2026-11-24, every ISA pass: Vector512, Vector256, Vector128-only, scalar without FMA), the largest absolute
/// errors were 4.0e-7 for attention (scalar pass) and 2.6e-6 for the feed-forward network (BERT-base, all passes).
/// The constants sit about 5× above those, far inside the worst-case bound, so a real bug (a wrong index, a missed
/// tail column, a dropped term, a softmax without its padding masked) cannot pass.
/// </remarks>
internal static class Tolerances
{
    /// <summary>Attention: softmax weights in [0, 1] times V in [−1, 1]; exp is accurate to ~1 ulp.</summary>
    public const double AttentionAbsolute = 2e-6;

    /// <inheritdoc cref="AttentionAbsolute"/>
    public const double AttentionRelative = 2e-6;

    /// <summary>Feed-forward: two products of depth up to 3072, plus the activation (erfc fit: 1.2e-7 relative).</summary>
    public const double FeedForwardAbsolute = 1.2e-5;

    /// <inheritdoc cref="FeedForwardAbsolute"/>
    public const double FeedForwardRelative = 1.2e-5;

    /// <summary>The worked example's outputs are near 10, where one float ulp is 9.5e-7; softmax and the dot products add a few.</summary>
    public const double WorkedExample = 4e-6;

    /// <summary>
    /// How far the generic kernels may be from the generated ones, in float ulps per output: none. Provenance: both
    /// drivers run one definition of each algorithm (GenericKernels' remarks): the lanes and tiles of TileTable, one
    /// multiply-add chain per output in k order, one MaxAcross, one exp, SoftmaxContract's float blocks and double sums
    /// with 1/Σ on P·V's rows, and ActivationPass at the branch's width. Measured 0 ulp on every test shape, for
    /// attention (plain, causal, masked), the feed-forward network (all four activations) and projections, in every ISA
    /// pass (Vector512, Vector256, Vector128-only, scalar; 2026-11-30), and on the 500 shapes of ShapeFuzzTests (Vector512).
    /// Before the drivers shared these definitions the engines differed by up to 2·10⁷ ulp (outputs near 0, where an ulp
    /// is tiny: BERT-base's attention). A non-zero difference means the two drivers drifted.
    /// </summary>
    public const long EngineUlps = 0;

    /// <summary>How many floats lie between <paramref name="a"/> and <paramref name="b"/> (±0 are one value, NaN equals only NaN).</summary>
    public static long UlpDistance(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            return float.IsNaN(a) && float.IsNaN(b) ? 0 : long.MaxValue;
        }

        return Math.Abs(Ordered(a) - Ordered(b));

        // Maps floats to integers in their order, one apart for neighbours: −0 and +0 both to 0.
        static long Ordered(float value)
        {
            int bits = BitConverter.SingleToInt32Bits(value);
            return bits >= 0 ? bits : -(long)(bits & int.MaxValue);
        }
    }
}
