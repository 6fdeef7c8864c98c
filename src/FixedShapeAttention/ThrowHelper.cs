using System;
using System.Diagnostics.CodeAnalysis;

namespace FixedShapeAttention;

/// <summary>Builds the argument exceptions of the kernels. Every message names the expected size and its formula.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void NotWholeSequences(string name, int actual, int sequenceLength, int embeddingDim) =>
        throw new ArgumentException(
            $"{name}: expected a multiple of {sequenceLength * embeddingDim} = {sequenceLength}×{embeddingDim}, got {actual}{(actual == 0 ? " (empty)" : "")}: " +
            "the input must be one or more whole sequences of [SequenceLength, EmbeddingDim].",
            name);

    [DoesNotReturn]
    public static void LengthDiffers(string name, int actual, string referenceName, int expected) =>
        throw new ArgumentException($"{name}: expected {expected} (the length of {referenceName}), got {actual}.", name);

    [DoesNotReturn]
    public static void WrongLength(string name, int actual, int rows, int columns, string dimensions) =>
        throw new ArgumentException(
            columns == 1
                ? $"{name}: expected {rows} = {dimensions}, got {actual}."
                : $"{name}: expected {(long)rows * columns} = {rows}×{columns} ({dimensions}), got {actual}.",
            name);

    [DoesNotReturn]
    public static void WeightsMismatch(int embeddingDim, int ffnDim, int lanes, int expectedEmbeddingDim, int expectedFfnDim, int expectedLanes) =>
        throw new ArgumentException(
            $"weights: packed for EmbeddingDim {embeddingDim}, FfnDim {ffnDim} and {lanes}-float vectors, but this kernel needs " +
            $"EmbeddingDim {expectedEmbeddingDim}, FfnDim {expectedFfnDim} and {expectedLanes}-float vectors; pack them with this class's PackFeedForward.",
            "weights");

    [DoesNotReturn]
    public static void ProjectionWeightsMismatch(int embeddingDim, int lanes, int expectedEmbeddingDim, int expectedLanes) =>
        throw new ArgumentException(
            $"weights: packed for EmbeddingDim {embeddingDim} and {lanes}-float vectors, but this kernel needs " +
            $"EmbeddingDim {expectedEmbeddingDim} and {expectedLanes}-float vectors; pack them with this class's PackProjection.",
            "weights");

    [DoesNotReturn]
    public static void CountsLength(string name, int actual, int batch) =>
        throw new ArgumentException($"{name}: expected {batch} (one count per sequence of the batch), got {actual}.", name);

    [DoesNotReturn]
    public static void CountOutOfRange(string name, int index, int value, int sequenceLength) =>
        throw new ArgumentException($"{name}[{index}]: expected a count in [0, {sequenceLength}] (SequenceLength), got {value}.", name);

    [DoesNotReturn]
    public static void Overlaps(string outputName, string inputName) =>
        throw new ArgumentException(
            $"{outputName} overlaps {inputName}: the kernels read every input while they write {outputName}, so the output must be a separate buffer.",
            outputName);
}
