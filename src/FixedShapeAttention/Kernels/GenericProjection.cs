using System;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

// Runtime-shape projection y = x·W + b (W square), per (sequence, row range), through GenericGemm.

namespace FixedShapeAttention.Kernels;

internal readonly unsafe struct GenericProjectionKernel<TVec, TOps> : IChunkKernel
    where TVec : struct
    where TOps : IVectorOps<TVec>
{
    private readonly int _sequenceLength, _embeddingDim, _chunksPerSequence;

    public GenericProjectionKernel(TransformerShape shape, int chunksPerSequence)
    {
        _sequenceLength = shape.SequenceLength;
        _embeddingDim = shape.EmbeddingDim;
        _chunksPerSequence = chunksPerSequence;
    }

    public void Execute(in KernelBuffers buffers, int chunk)
    {
        int s = _sequenceLength, e = _embeddingDim;
        int sequence = chunk / _chunksPerSequence;
        int part = chunk % _chunksPerSequence;
        int tiles = ChunkSizing.RowTiles(s);
        int rowStart = RowPartition.Start(tiles, _chunksPerSequence, part) * ChunkSizing.RowTile;
        int rowEnd = Math.Min(s, rowStart + RowPartition.Count(tiles, _chunksPerSequence, part) * ChunkSizing.RowTile);

        nint rowOffset = ((nint)sequence * s + rowStart) * e;
        GenericGemm.Multiply<TVec, TOps, BiasEpilogue>(
            buffers.Input0Pointer + rowOffset, e, buffers.Input1Pointer, e, buffers.OutputPointer + rowOffset, e, rowEnd - rowStart, e, e,
            new BiasEpilogue(buffers.Input2Pointer));
    }
}
