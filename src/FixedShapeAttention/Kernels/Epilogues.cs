using System.Runtime.CompilerServices;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

/// <summary>
/// What a matrix product does to each accumulator before storing it (scale, bias, activation, the softmax's 1/Σ):
/// the operations of the generated products' epilogues, in the same order.
/// </summary>
internal interface IEpilogue
{
    /// <param name="row">The output's row, counted from the first row of the <see cref="GenericGemm.Multiply{TVec, TOps, TEpilogue}"/> call.</param>
    /// <param name="column">The first column of <paramref name="accumulator"/>.</param>
    TVec Apply<TVec, TOps>(TVec accumulator, int row, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec>;
}

/// <summary>Scores: multiply by 1/√HeadDim.</summary>
internal readonly struct ScaleEpilogue(float scale) : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int row, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Multiply(accumulator, TOps.Broadcast(scale));
}

/// <summary>
/// Attention output: exp weights · V times the row's 1/Σ (<see cref="RowSoftmax"/>), once per output instead of once
/// per weight.
/// </summary>
internal readonly unsafe struct RowScaleEpilogue(float* rowScales) : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int row, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Multiply(accumulator, TOps.Broadcast(rowScales[row]));
}

/// <summary>Second linear layer, projections, and the first layer before a separate activation pass: add the bias.</summary>
internal readonly unsafe struct BiasEpilogue(float* bias) : IEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int row, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Add(accumulator, TOps.Load(bias + column));
}

/// <summary>First linear layer with ReLU: add the bias, then the activation, in the tile (ReLU is one instruction).</summary>
internal readonly unsafe struct BiasActivationEpilogue<TActivation>(float* bias) : IEpilogue
    where TActivation : IActivationOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Apply<TVec, TOps>(TVec accumulator, int row, int column)
        where TVec : struct
        where TOps : IVectorOps<TVec> => TOps.Activate<TActivation>(TOps.Add(accumulator, TOps.Load(bias + column)));
}
