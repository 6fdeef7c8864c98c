using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FixedShapeAttention.Kernels;
using Xunit;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Tests;

/// <summary>The inlined exp against Math.Exp, and the softmax's 2^t against Math.Pow: the error bounds the header states, and the special values, at every width.</summary>
public class ExpOperatorTests
{
    private const int MaxUlp = 2;

    [Fact]
    public void Every_width_is_within_two_ulp_of_the_correctly_rounded_result_over_the_normal_range()
    {
        int worst = 0;
        float worstAt = 0;
        var batch = new float[16];
        int filled = 0;
        // Every 1021st float (a prime stride, so the low bits vary) between the bounds, both signs.
        foreach ((float from, float to) in new[] { (0f, 88.37f), (-0f, -87.33f) })
        {
            for (int bits = BitConverter.SingleToInt32Bits(from); ; bits += 1021)
            {
                float x = BitConverter.Int32BitsToSingle(bits);
                if (Math.Abs(x) > Math.Abs(to))
                {
                    break;
                }

                batch[filled++] = x;
                if (filled == batch.Length)
                {
                    Check(batch, ref worst, ref worstAt);
                    filled = 0;
                }
            }
        }

        Assert.True(worst <= MaxUlp, $"largest error {worst} ulp at x = {worstAt:R}");
    }

    private static void Check(float[] xs, ref int worst, ref float worstAt)
    {
        Vector512<float> wide = ExpOperator.Invoke(Vector512.Create(xs));
        Vector256<float> middle = ExpOperator.Invoke(Vector256.Create(xs.AsSpan(0, 8)));
        Vector128<float> narrow = ExpOperator.Invoke(Vector128.Create(xs.AsSpan(8, 4)));
        for (int i = 0; i < xs.Length; i++)
        {
            float expected = (float)Math.Exp(xs[i]);
            Track(wide[i], expected, xs[i], ref worst, ref worstAt);
            if (i < 8)
            {
                Track(middle[i], expected, xs[i], ref worst, ref worstAt);
            }
            else if (i < 12)
            {
                Track(narrow[i - 8], expected, xs[i], ref worst, ref worstAt);
            }
        }
    }

    private static void Track(float got, float expected, float x, ref int worst, ref float worstAt)
    {
        int ulp = Math.Abs(BitConverter.SingleToInt32Bits(got) - BitConverter.SingleToInt32Bits(expected));
        if (ulp > worst)
        {
            worst = ulp;
            worstAt = x;
        }
    }

    [Theory]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(-1000f, 0f)]
    [InlineData(-87.5f, 0f)]
    [InlineData(0f, 1f)]
    [InlineData(88.5f, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    public void Special_values(float x, float expected)
    {
        Assert.Equal(expected, ExpOperator.Invoke(Vector512.Create(x))[3]);
        Assert.Equal(expected, ExpOperator.Invoke(Vector256.Create(x))[3]);
        Assert.Equal(expected, ExpOperator.Invoke(Vector128.Create(x))[3]);
    }

    [Fact]
    public void NaN_stays_NaN()
    {
        Assert.True(float.IsNaN(ExpOperator.Invoke(Vector512.Create(float.NaN))[0]));
        Assert.True(float.IsNaN(ExpOperator.Invoke(Vector256.Create(float.NaN))[0]));
        Assert.True(float.IsNaN(ExpOperator.Invoke(Vector128.Create(float.NaN))[0]));
    }

    [Fact]
    public void Softmax_exp2_is_within_two_ulp_of_the_correctly_rounded_result_over_the_normal_range_at_every_width()
    {
        // Every 1021st float of [−126, 127] (2^t normal), both signs: the polynomial's worst case (2 ulp) and its
        // reduction's ends (t − round(t) = ±1/2) are all reached. The scalar overload is the platform's Exp2.
        int worst = 0;
        float worstAt = 0;
        var ts = new float[16];
        int filled = 0;
        foreach ((float from, float to) in new[] { (0f, 127f), (-0f, -126f) })
        {
            for (int bits = BitConverter.SingleToInt32Bits(from); ; bits += 1021)
            {
                float t = BitConverter.Int32BitsToSingle(bits);
                if (Math.Abs(t) > Math.Abs(to))
                {
                    break;
                }

                ts[filled++] = t;
                if (filled == ts.Length)
                {
                    filled = 0;
                    CheckExp2(ts, ref worst, ref worstAt, subnormalUlp: 0);
                }
            }
        }

        Assert.True(worst <= MaxUlp, $"largest error {worst} ulp at t = {worstAt:R}");
    }

    [Fact]
    public void Softmax_exp2_in_the_subnormal_range_is_within_one_ulp_with_AVX512_and_zero_or_close_elsewhere()
    {
        // t in [−150, −126): vscalefps rounds 2^t into the subnormals once (1 ulp: the polynomial's relative error is
        // far below a subnormal step); the exponent-bits construction of Vector256/128 gives +0 there or a subnormal
        // product. Either is far below any weight that can change a softmax row, whose largest weight is 1.
        int worst = 0;
        float worstAt = 0;
        var ts = new float[16];
        int filled = 0;
        for (int bits = BitConverter.SingleToInt32Bits(-126f) + 1; ; bits += 97)
        {
            float t = BitConverter.Int32BitsToSingle(bits);
            if (t < -150f)
            {
                break;
            }

            ts[filled++] = t;
            if (filled == ts.Length)
            {
                filled = 0;
                CheckExp2(ts, ref worst, ref worstAt, subnormalUlp: 1);
            }
        }

        Assert.True(worst <= 1, $"largest error {worst} ulp at t = {worstAt:R}");
    }

    /// <summary>Every width against (float)2^t; below 2^−126 Vector256 and Vector128 (and Vector512 without AVX-512) may give +0 instead.</summary>
    private static void CheckExp2(float[] ts, ref int worst, ref float worstAt, int subnormalUlp)
    {
        Vector512<float> wide = ExpOperator.Exp2BelowOverflow(Vector512.Create(ts));
        Vector256<float> middle = ExpOperator.Exp2BelowOverflow(Vector256.Create(ts.AsSpan(0, 8)));
        Vector128<float> narrow = ExpOperator.Exp2BelowOverflow(Vector128.Create(ts.AsSpan(8, 4)));
        for (int i = 0; i < ts.Length; i++)
        {
            float expected = (float)Math.Pow(2, ts[i]);
            bool mayFlush = subnormalUlp > 0;
            TrackExp2(wide[i], expected, ts[i], mayFlush && !Avx512DQ.IsSupported, ref worst, ref worstAt);
            TrackExp2(ExpOperator.Exp2BelowOverflow(ts[i]), expected, ts[i], false, ref worst, ref worstAt);
            if (i < 8)
            {
                TrackExp2(middle[i], expected, ts[i], mayFlush, ref worst, ref worstAt);
            }
            else if (i < 12)
            {
                TrackExp2(narrow[i - 8], expected, ts[i], mayFlush, ref worst, ref worstAt);
            }
        }
    }

    private static void TrackExp2(float got, float expected, float t, bool mayFlush, ref int worst, ref float worstAt)
    {
        if (mayFlush && got == 0f)
        {
            return;
        }

        Track(got, expected, t, ref worst, ref worstAt);
    }

    [Theory]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(-1000f, 0f)]
    [InlineData(-160f, 0f)]
    [InlineData(0f, 1f)]
    [InlineData(-1f, 0.5f)]
    [InlineData(-126f, 1.17549435e-38f)]
    public void Softmax_exp2_special_values_are_exact_at_every_width(float t, float expected)
    {
        // 2^0 = 1 exactly: the row's maximum gets weight 1. 2^−Inf = +0: a masked key gets weight 0, not NaN.
        for (int lane = 0; lane < 16; lane++)
        {
            Assert.Equal(expected, ExpOperator.Exp2BelowOverflow(Vector512.Create(t))[lane]);
        }

        Assert.Equal(expected, ExpOperator.Exp2BelowOverflow(Vector256.Create(t))[7]);
        Assert.Equal(expected, ExpOperator.Exp2BelowOverflow(Vector128.Create(t))[3]);
        Assert.Equal(expected, ExpOperator.Exp2BelowOverflow(t));
    }

    [Fact]
    public void Softmax_exp2_keeps_NaN_and_gives_one_at_minus_zero()
    {
        Assert.Equal(1f, ExpOperator.Exp2BelowOverflow(Vector512.Create(-0f))[0]);
        Assert.Equal(1f, ExpOperator.Exp2BelowOverflow(Vector256.Create(-0f))[0]);
        Assert.Equal(1f, ExpOperator.Exp2BelowOverflow(Vector128.Create(-0f))[0]);
        Assert.True(float.IsNaN(ExpOperator.Exp2BelowOverflow(Vector512.Create(float.NaN))[7]));
        Assert.True(float.IsNaN(ExpOperator.Exp2BelowOverflow(Vector256.Create(float.NaN))[7]));
        Assert.True(float.IsNaN(ExpOperator.Exp2BelowOverflow(Vector128.Create(float.NaN))[3]));
        Assert.True(float.IsNaN(ExpOperator.Exp2BelowOverflow(float.NaN)));
    }

    [Fact]
    public void Saturating_exp_is_Invoke_inside_the_range_and_gives_a_logistic_its_ends()
    {
        // Inside [−87.33, 88.37] every 1021st float gives Invoke's bits (with AVX-512 the same polynomial and scaling,
        // only the end selects are gone; without it, it is Invoke).
        var batch = new float[16];
        int filled = 0;
        for (int bits = 0; BitConverter.Int32BitsToSingle(bits) <= 87.33f; bits += 1021)
        {
            float x = BitConverter.Int32BitsToSingle(bits);
            batch[filled] = x * 1.0118f;  // up to 88.36
            batch[filled + 1] = -x;
            filled += 2;
            if (filled == batch.Length)
            {
                Vector512<float> values = Vector512.Create(batch);
                Assert.Equal(ExpOperator.Invoke(values), ExpOperator.ExpSaturating(values));
                filled = 0;
            }
        }

        // The ends, as 1/(1 + e^x) sees them: 1 below the range, +Inf once e^x overflows, NaN kept.
        float[] ends = [float.NegativeInfinity, -1e30f, -200f, -100f, -88f, 89f, 100f, 1000f, 1e30f, float.PositiveInfinity, float.NaN, 0f, -0f, 1f, -1f, 50f];
        Vector512<float> e = ExpOperator.ExpSaturating(Vector512.Create(ends));
        for (int i = 0; i < ends.Length; i++)
        {
            float x = ends[i], onePlus = 1f + e[i];
            if (float.IsNaN(x))
                Assert.True(float.IsNaN(e[i]));
            else if (x <= -88f)
                Assert.Equal(1f, onePlus);
            else if (x >= 89f)
                Assert.Equal(float.PositiveInfinity, e[i]);
            else
                Assert.Equal(ExpOperator.Invoke(Vector512.Create(x))[0], e[i]);
        }
    }
}
