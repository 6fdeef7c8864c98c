// Runtime-shape feed-forward network, y = act(x·W1 + b1)·W2 + b2, per (sequence, row range): the hidden rows
// of a chunk stay in the worker's scratch (sized to fit L2, see ChunkSizing) between the two products. ReLU is
// applied in the first product's epilogue; the smooth activations run afterwards as a pass over the chunk's hidden
// block by ActivationPass at the branch's width, exactly as the generated kernel applies them, so each hidden value
// is computed by the same operator at the same width in both kernel families.

using System;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal readonly unsafe struct GenericFeedForwardKernel<TVec, TOps, TActivation> : IChunkKernel
    where TVec : struct
    where TOps : IVectorOps<TVec>
    where TActivation : IActivationOperator
{
    private readonly int _sequenceLength, _embeddingDim, _ffnDim, _chunksPerSequence;

    public GenericFeedForwardKernel(TransformerShape shape, int chunksPerSequence)
    {
        _sequenceLength = shape.SequenceLength;
        _embeddingDim = shape.EmbeddingDim;
        _ffnDim = shape.FfnDim;
        _chunksPerSequence = chunksPerSequence;
    }

    public void Execute(in KernelBuffers buffers, int chunk)
    {
        int s = _sequenceLength, e = _embeddingDim, f = _ffnDim;
        int sequence = chunk / _chunksPerSequence;
        int part = chunk % _chunksPerSequence;
        int tiles = ChunkSizing.RowTiles(s);
        int rowStart = RowPartition.Start(tiles, _chunksPerSequence, part) * ChunkSizing.RowTile;
        int rowEnd = Math.Min(s, rowStart + RowPartition.Count(tiles, _chunksPerSequence, part) * ChunkSizing.RowTile);
        int rows = rowEnd - rowStart;

        nint rowOffset = ((nint)sequence * s + rowStart) * e;
        float* x = buffers.Input0Pointer + rowOffset;
        float* y = buffers.OutputPointer + rowOffset;

        fixed (float* hidden = WorkerScratch.Get(rows * f))
        {
            if (typeof(TActivation) == typeof(ReluOperator))
            {
                GenericGemm.Multiply<TVec, TOps, BiasActivationEpilogue<TActivation>>(
                    x, e, buffers.Input1Pointer, f, hidden, f, rows, f, e, new BiasActivationEpilogue<TActivation>(buffers.Input2Pointer));
            }
            else
            {
                GenericGemm.Multiply<TVec, TOps, BiasEpilogue>(x, e, buffers.Input1Pointer, f, hidden, f, rows, f, e, new BiasEpilogue(buffers.Input2Pointer));
                // The generated kernel's pass for this branch (by the branch's width, not the product's lanes).
                if (TOps.Count == 16)
                {
                    ActivationPass.Apply512<TActivation>(new Span<float>(hidden, rows * f));
                }
                else if (TOps.Count == 8)
                {
                    ActivationPass.Apply256<TActivation>(new Span<float>(hidden, rows * f));
                }
                else if (TOps.Count == 4)
                {
                    ActivationPass.Apply128<TActivation>(new Span<float>(hidden, rows * f));
                }
                else
                {
                    ActivationPass.ApplyScalar<TActivation>(new Span<float>(hidden, rows * f));
                }
            }

            GenericGemm.Multiply<TVec, TOps, BiasEpilogue>(
                hidden, f, buffers.Input3Pointer, e, y, e, rows, e, f, new BiasEpilogue(buffers.Input4Pointer));
        }
    }
}
