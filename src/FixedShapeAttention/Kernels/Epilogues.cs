using System.Runtime.CompilerServices;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

/// <summary>What a matrix product does to each accumulator before storing it (scale, bias, activation).</summary>
internal interface IEpilogue
{
    TVec Apply<TVec, TOps>(TVec accumulator, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec>;
}

/// <summary>Scores: multiply by 1/√HeadDim.</summary>
internal readonly struct ScaleEpilogue(float scale) : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Multiply(accumulator, TOps.Broadcast(scale));
}

/// <summary>Attention output: store as is.</summary>
internal readonly struct IdentityEpilogue : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => accumulator;
}

/// <summary>Second linear layer: add the bias.</summary>
internal readonly unsafe struct BiasEpilogue(float* bias) : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Add(accumulator, TOps.Load(bias + column));
}

/// <summary>First linear layer: add the bias, then the activation.</summary>
internal readonly unsafe struct BiasActivationEpilogue<TActivation>(float* bias) : IEpilogue
    where TActivation : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Activate<TActivation>(TOps.Add(accumulator, TOps.Load(bias + column)));
}
