using System;
using System.IO;
using FixedShapeAttention.Models.Loading;
using FixedShapeAttention.Models.Onnx;
using Google.Protobuf;

namespace FixedShapeAttention.Models;

/// <summary>
/// Loads the weights of a BERT-style encoder (all-MiniLM-L6-v2, bert-base-uncased, … as Hugging Face exports them to
/// ONNX) into plain float arrays, with no inference runtime.
/// </summary>
/// <remarks>
/// <para>
/// Tensors are found by their Hugging Face names (<c>embeddings.word_embeddings.weight</c>,
/// <c>encoder.layer.N.attention.self.query.bias</c>, …, optionally prefixed such as <c>bert.</c>) and, for projection
/// matrices that exports leave anonymous, through the graph: the Add that uses a bias takes the output of a MatMul
/// whose other operand is the weight. The <see cref="BertConfig"/> is inferred: sizes from tensor shapes, the head
/// count from the Reshape that splits each projection into <c>[…, heads, headDim]</c>, ε from the LayerNorms (fused or
/// decomposed; all must agree). The feed-forward activation must be the exact erf GELU.
/// </para>
/// <para>
/// Everything read is validated before use: a tensor's element type (float; tensors stored outside the file are
/// refused), every dimension non-negative, the element count (checked arithmetic) equal to the length of its data,
/// its shape consistent with the rest of the model, and the wiring of every layer (inputs, residuals, LayerNorms,
/// activation). Arrays are allocated only after their data has been found in the file, so the memory used is a small
/// multiple of the model's size whatever the file declares. Any failure throws <see cref="InvalidDataException"/>
/// saying what and where; I/O errors of the stream itself are not caught.
/// </para>
/// </remarks>
public static class OnnxBertLoader
{
    /// <summary>
    /// The most bytes <see cref="Load(Stream)"/> reads: 2,147,483,591 (<see cref="Array.MaxLength"/>, just under 2 GiB),
    /// the largest buffer .NET allocates, and above what a protobuf message may be anyway. A longer stream is
    /// rejected with <see cref="InvalidDataException"/> without being read past the limit.
    /// </summary>
    public const long MaxModelBytes = 0x7FFFFFC7;

    // Unknown fields (doc strings, value_info, metadata, …) are dropped while parsing instead of kept as copies.
    private static readonly MessageParser<ModelProto> Parser = ModelProto.Parser.WithDiscardUnknownFields(true);

    /// <summary>Loads an ONNX model from the current position of <paramref name="model"/> to its end.</summary>
    /// <param name="model">A readable stream; it is read to its end (at most <see cref="MaxModelBytes"/>) and not disposed.</param>
    /// <exception cref="InvalidDataException">The model is malformed, too large, or not a supported BERT-style encoder.</exception>
    public static BertWeights Load(Stream model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Load(model, MaxModelBytes);
    }

    /// <summary>Loads an ONNX model from a file.</summary>
    /// <param name="path">The .onnx file; the weights must be inside it (no external data files).</param>
    /// <exception cref="InvalidDataException">The model is malformed, too large, or not a supported BERT-style encoder.</exception>
    public static BertWeights Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Load(file);
    }

    /// <summary>Loads with a smaller size limit; lets the tests check the limit without a 2 GiB stream.</summary>
    internal static BertWeights Load(Stream model, long maxBytes)
    {
        ArraySegment<byte> bytes = ModelBytes.Read(model, maxBytes);
        ModelProto proto = Parse(bytes);
        bytes = default;   // the parsed message holds its own copies; let the file's bytes go before the weights are built
        return BertGraphMapper.Map(proto);
    }

    private static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"not an ONNX model: the protobuf ModelProto does not parse ({ex.Message})", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The parser documents InvalidProtocolBufferException only; any other failure on arbitrary bytes is still
            // a malformed file from the caller's point of view.
            throw new InvalidDataException($"not an ONNX model: the protobuf parser failed ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }
}
