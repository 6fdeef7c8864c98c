using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

/// <summary>
/// One SIMD width as a type, so the generic kernels are written once and the JIT specialises them per width
/// (TensorPrimitives does the same with its operator structs). <see cref="ScalarOps"/> is width 1.
/// </summary>
internal unsafe interface IVectorOps<TVec>
    where TVec : struct
{
    static abstract int Count { get; }

    static abstract TVec Zero { get; }

    static abstract TVec Load(float* source);

    static abstract void Store(TVec value, float* destination);

    static abstract TVec Broadcast(float value);

    /// <summary><c>a·b + c</c>, fused where the width has hardware FMA.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    static abstract TVec Multiply(TVec a, TVec b);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Activate<TActivation>(TVec x)
        where TActivation : IActivationOperator;

    static abstract TVec Subtract(TVec a, TVec b);

    static abstract TVec Max(TVec a, TVec b);

    /// <summary>2^t of a softmax argument, score − max in base-2 units (<see cref="SoftmaxContract.ScoreScale"/>): ≤ 0, −Inf or NaN.</summary>
    static abstract TVec Exp2NonPositive(TVec t);

    /// <summary>Lanes [0, <paramref name="count"/>) of <paramref name="x"/>, and +0 in the others: a row's last partial
    /// vector, computed whole and stored with the lanes past the row's end cleared.</summary>
    static abstract TVec KeepFirst(TVec x, int count);

    /// <summary>The largest lane, by <see cref="KernelMath.MaxAcross(Vector512{float})"/>, the generated softmax's reduction.</summary>
    static abstract float MaxAcross(TVec x);

    /// <summary>The sum of the lanes, each widened to double first (lane order, so it is deterministic).</summary>
    static abstract double SumAcrossAsDouble(TVec x);

    /// <summary>The sum of the lanes in float, halves folded first (upper half onto lower, down to 128 bits, then
    /// <see cref="Vector128.Sum{T}(Vector128{T})"/>): a fixed tree, so it is deterministic, and cheaper than widening.</summary>
    static abstract float SumAcrossByHalves(TVec x);

    /// <summary>
    /// Adds the lanes of <paramref name="x"/>, widened to double, lane by lane into <see cref="Count"/> running double sums
    /// (the lower half's lanes, then the upper half's): the softmax's block sums, kept as the generated softmax keeps
    /// them in two double vectors.
    /// </summary>
    static abstract void AccumulateWidened(TVec x, double* sums);

    /// <summary>The total of <see cref="Count"/> running sums from <see cref="AccumulateWidened"/>, reduced as the
    /// generated softmax reduces its two double vectors (lower + upper lane by lane, then one Sum).</summary>
    static abstract double SumWidened(double* sums);
}

internal readonly unsafe struct Vector512Ops : IVectorOps<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Activate<TActivation>(Vector512<float> x)
        where TActivation : IActivationOperator => TActivation.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2NonPositive(Vector512<float> t) => ExpOperator.Exp2BelowOverflow(t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> KeepFirst(Vector512<float> x, int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle() & x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> x) => KernelMath.MaxAcross(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcrossAsDouble(Vector512<float> x) => Vector512.Sum(Vector512.WidenLower(x)) + Vector512.Sum(Vector512.WidenUpper(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcrossByHalves(Vector512<float> x) => Vector256Ops.SumAcrossByHalves(x.GetLower() + x.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateWidened(Vector512<float> x, double* sums)
    {
        (Vector512.Load(sums) + Vector512.WidenLower(x)).Store(sums);
        (Vector512.Load(sums + 8) + Vector512.WidenUpper(x)).Store(sums + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumWidened(double* sums) => Vector512.Sum(Vector512.Load(sums) + Vector512.Load(sums + 8));
}

internal readonly unsafe struct Vector256Ops : IVectorOps<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Activate<TActivation>(Vector256<float> x)
        where TActivation : IActivationOperator => TActivation.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2NonPositive(Vector256<float> t) => ExpOperator.Exp2BelowOverflow(t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> KeepFirst(Vector256<float> x, int count) =>
        Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle() & x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> x) => KernelMath.MaxAcross(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcrossAsDouble(Vector256<float> x) => Vector256.Sum(Vector256.WidenLower(x)) + Vector256.Sum(Vector256.WidenUpper(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcrossByHalves(Vector256<float> x) => Vector128Ops.SumAcrossByHalves(x.GetLower() + x.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateWidened(Vector256<float> x, double* sums)
    {
        (Vector256.Load(sums) + Vector256.WidenLower(x)).Store(sums);
        (Vector256.Load(sums + 4) + Vector256.WidenUpper(x)).Store(sums + 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumWidened(double* sums) => Vector256.Sum(Vector256.Load(sums) + Vector256.Load(sums + 4));
}

/// <summary>Width 4: the lanes of a product narrower than the branch's vectors (see <see cref="TileTable.LanesFor"/>).</summary>
internal readonly unsafe struct Vector128Ops : IVectorOps<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Activate<TActivation>(Vector128<float> x)
        where TActivation : IActivationOperator => TActivation.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2NonPositive(Vector128<float> t) => ExpOperator.Exp2BelowOverflow(t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> KeepFirst(Vector128<float> x, int count) =>
        Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(count)).AsSingle() & x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> x) => KernelMath.MaxAcross(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcrossAsDouble(Vector128<float> x) => Vector128.Sum(Vector128.WidenLower(x)) + Vector128.Sum(Vector128.WidenUpper(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcrossByHalves(Vector128<float> x) => Vector128.Sum(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateWidened(Vector128<float> x, double* sums)
    {
        (Vector128.Load(sums) + Vector128.WidenLower(x)).Store(sums);
        (Vector128.Load(sums + 2) + Vector128.WidenUpper(x)).Store(sums + 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumWidened(double* sums) => Vector128.Sum(Vector128.Load(sums) + Vector128.Load(sums + 2));
}

/// <summary>Width 1. Multiply-add is not fused here: without hardware intrinsics a fused one is a slow software call.</summary>
internal readonly unsafe struct ScalarOps : IVectorOps<float>
{
    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(float* source) => *source;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, float* destination) => *destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Activate<TActivation>(float x)
        where TActivation : IActivationOperator => TActivation.Invoke(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float a, float b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => MathF.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp2NonPositive(float t) => ExpOperator.Exp2BelowOverflow(t);

    public static float KeepFirst(float x, int count) => count > 0 ? x : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(float x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcrossAsDouble(float x) => x;

    public static float SumAcrossByHalves(float x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateWidened(float x, double* sums) => *sums += x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumWidened(double* sums) => *sums;
}
