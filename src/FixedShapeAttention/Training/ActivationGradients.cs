using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>The derivative of an activation at the widths the training step uses, as TensorPrimitives' operator
/// structs are written: one formula per width, the same arithmetic in each. Every Invoke is aggressively inlined: with
/// e^x inlined into it, the JIT otherwise kept GELU′ as a call per vector (3.6 % of a training step's samples in perf,
/// against 1.0 % for the whole pass inlined).</summary>
internal interface IActivationGradient
{
    static abstract float Invoke(float x);

    static abstract Vector256<float> Invoke(Vector256<float> x);

    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>ReLU′: 1 above 0, else 0 (0 at 0, as PyTorch takes it).</summary>
internal readonly struct ReluGradient : IActivationGradient
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => x > 0f ? 1f : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256<float>.One, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), Vector512<float>.One, Vector512<float>.Zero);
}

/// <summary>GELU′ (erf form): Φ(x) + x·φ(x). Φ comes from the forward operator's x·Φ(x) (its erfc fit is within ~1e-7
/// relative), except near 0, where Φ(x) = ½ + x/√(2π) to float precision.</summary>
internal readonly struct GeluGradient : IActivationGradient
{
    private const float InverseSqrt2Pi = 0.398942280f;
    private const float Small = 1e-4f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float cdf = MathF.Abs(x) < Small ? 0.5f + InverseSqrt2Pi * x : GeluOperator.Invoke(x) / x;
        return cdf + x * InverseSqrt2Pi * MathF.Exp(-0.5f * x * x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var small = Vector256.LessThan(Vector256.Abs(x), Vector256.Create(Small));
        var cdf = Vector256.ConditionalSelect(small, Vector256.Create(0.5f) + Vector256.Create(InverseSqrt2Pi) * x, GeluOperator.Invoke(x) / x);
        return cdf + x * Vector256.Create(InverseSqrt2Pi) * ExpOperator.Invoke(Vector256.Create(-0.5f) * x * x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var small = Vector512.LessThan(Vector512.Abs(x), Vector512.Create(Small));
        var cdf = Vector512.ConditionalSelect(small, Vector512.Create(0.5f) + Vector512.Create(InverseSqrt2Pi) * x, GeluOperator.Invoke(x) / x);
        return cdf + x * Vector512.Create(InverseSqrt2Pi) * ExpOperator.Invoke(Vector512.Create(-0.5f) * x * x);
    }
}

/// <summary>GELU′ (tanh form): ½(1 + t) + ½x(1 − t²)·k(1 + 3c·x²), t = tanh(u), u = k(x + c·x³), written with
/// s = 1/(1 + e^(2u)) and its complement 1 − s = e^(2u)·s (so t = 1 − 2s): (1 − s) + 2k·x·s(1 − s)(1 + 3c·x²). The
/// complement is e^(2u)·s where x ≤ 0 and 1 − s only where x &gt; 0 (s ≤ ½, no cancellation; e^(2u) may overflow
/// there): 1 − s alone cancelled where s → 1, so the derivative of every x below about −4.5 lost all its digits
/// (0 at x = −5 against −1.55e-6; 2e-3 relative at x = −4). Measured against float64 over [−8, 8] (one thread,
/// AVX-512, 2026-12-01): the largest error went from 2.0e-6 to 2.3e-7 absolute, at the same speed.</summary>
internal readonly struct GeluTanhGradient : IActivationGradient
{
    private const float K = 0.797884561f, C = 0.044715f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float x2 = x * x;
        float e = MathF.Exp(2f * K * (x + C * x2 * x));
        float s = 1f / (1f + e);
        float complement = x > 0f ? 1f - s : e * s;
        return complement + 2f * K * x * s * complement * (1f + 3f * C * x2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var x2 = x * x;
        var e = ExpOperator.Invoke(Vector256.Create(2f * K) * Vector256.FusedMultiplyAdd(Vector256.Create(C) * x2, x, x));
        var s = one / (one + e);
        var complement = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), one - s, e * s);
        return Vector256.FusedMultiplyAdd(Vector256.Create(2f * K) * x * s * complement, Vector256.FusedMultiplyAdd(Vector256.Create(3f * C), x2, one), complement);
    }

    /// <remarks>As the forward operator at this width: 2u = 2k·x·(1 + c·x²) by one fused multiply-add and a
    /// multiply, e^(2u) without the end selects (ExpSaturating), and 2u′ = 2k(1 + 3c·x²) by one more: 0.69 → 0.59 ms
    /// per million values alone (2026-12-01).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var one = Vector512<float>.One;
        var x2 = x * x;
        var e = ExpOperator.ExpSaturating(Vector512.FusedMultiplyAdd(x2, Vector512.Create(2f * K * C), Vector512.Create(2f * K)) * x);
        var s = one / (one + e);
        var complement = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), one - s, e * s);
        var twiceSlope = Vector512.FusedMultiplyAdd(x2, Vector512.Create(6f * K * C), Vector512.Create(2f * K));
        return Vector512.FusedMultiplyAdd(x * s * complement, twiceSlope, complement);
    }
}

/// <summary>SiLU′: s(1 + x(1 − s)), s = 1/(1 + e^(−x)), with 1 − s = e^(−x)·s where x &gt; 0 (1 − s cancels as s → 1:
/// at x = 10 it kept three digits of its 4.5e-5) and 1 − s elsewhere (e^(−x) may overflow there).</summary>
internal readonly struct SiluGradient : IActivationGradient
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        float e = MathF.Exp(-x);
        float s = 1f / (1f + e);
        float complement = x > 0f ? e * s : 1f - s;
        return s * (1f + x * complement);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var e = ExpOperator.Invoke(-x);
        var s = one / (one + e);
        var complement = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), e * s, one - s);
        return s * (one + x * complement);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        var one = Vector512<float>.One;
        var e = ExpOperator.ExpSaturating(-x);
        var s = one / (one + e);
        var complement = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), e * s, one - s);
        return s * (one + x * complement);
    }
}

/// <summary>dg ← dg · act′(h) over a span, at the widest width the CPU has. The last few elements go through one
/// vector staged on the stack, so every element is computed by the same formula wherever a row or a batch ends
/// (a batch and its micro-batches then give the same bits).</summary>
internal static class ActivationGradients
{
    public static void MultiplyInPlace(Activation activation, ReadOnlySpan<float> h, Span<float> dg)
    {
        switch (activation)
        {
            case Activation.Relu: Multiply<ReluGradient>(h, dg); break;
            case Activation.Gelu: Multiply<GeluGradient>(h, dg); break;
            case Activation.GeluTanh: Multiply<GeluTanhGradient>(h, dg); break;
            default: Multiply<SiluGradient>(h, dg); break;
        }
    }

    private static void Multiply<TGradient>(ReadOnlySpan<float> h, Span<float> dg)
        where TGradient : IActivationGradient
    {
        ref float x0 = ref MemoryMarshal.GetReference(h);
        ref float d0 = ref MemoryMarshal.GetReference(dg);
        int i = 0, n = h.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                (Vector512.LoadUnsafe(ref d0, (nuint)i) * TGradient.Invoke(Vector512.LoadUnsafe(ref x0, (nuint)i))).StoreUnsafe(ref d0, (nuint)i);
            if (i < n)
            {
                Span<float> x = stackalloc float[16], d = stackalloc float[16];
                x.Clear();
                h[i..].CopyTo(x);
                dg[i..].CopyTo(d);
                (Vector512.Create<float>(d) * TGradient.Invoke(Vector512.Create<float>(x))).CopyTo(d);
                d[..(n - i)].CopyTo(dg[i..]);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
                (Vector256.LoadUnsafe(ref d0, (nuint)i) * TGradient.Invoke(Vector256.LoadUnsafe(ref x0, (nuint)i))).StoreUnsafe(ref d0, (nuint)i);
            if (i < n)
            {
                Span<float> x = stackalloc float[8], d = stackalloc float[8];
                x.Clear();
                h[i..].CopyTo(x);
                dg[i..].CopyTo(d);
                (Vector256.Create<float>(d) * TGradient.Invoke(Vector256.Create<float>(x))).CopyTo(d);
                d[..(n - i)].CopyTo(dg[i..]);
            }
        }
        else
        {
            for (; i < n; i++)
                Unsafe.Add(ref d0, i) *= TGradient.Invoke(Unsafe.Add(ref x0, i));
        }
    }
}
