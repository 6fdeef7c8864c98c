using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;

namespace FixedShapeAttention.Models;

/// <summary>
/// A <see cref="SentenceEncoder"/> as Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>,
/// the interface Semantic Kernel, the vector-store connectors and .NET apps consume embeddings through.
/// </summary>
/// <remarks>
/// The work is CPU-bound and runs on the calling thread (the kernels spread each batch over the encoder's threads);
/// the returned task is complete. The cancellation token is checked before each batch. Concurrent calls are served by
/// the encoder's pool of workspaces and do not wait for each other. Disposing the generator leaves the encoder usable.
/// </remarks>
public sealed class SentenceEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly SentenceEncoder _encoder;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <param name="encoder">The encoder that computes the embeddings.</param>
    /// <param name="modelId">The model's name for <see cref="EmbeddingGeneratorMetadata.DefaultModelId"/> and each embedding's ModelId, e.g. "all-MiniLM-L6-v2"; null for the shape's name.</param>
    public SentenceEmbeddingGenerator(SentenceEncoder encoder, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        _encoder = encoder;
        ModelId = modelId ?? encoder.ShapeName;
        _metadata = new EmbeddingGeneratorMetadata("FixedShapeAttention", providerUri: null, ModelId, encoder.EmbeddingDim);
    }

    /// <summary>The model name reported with every embedding.</summary>
    public string ModelId { get; }

    /// <summary>The encoder behind this generator.</summary>
    public SentenceEncoder Encoder => _encoder;

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="EmbeddingGenerationOptions.Dimensions"/> asks for another width than the model's.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a batch.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is int dimensions && dimensions != _encoder.EmbeddingDim)
        {
            throw new NotSupportedException($"options.Dimensions: this model embeds in {_encoder.EmbeddingDim} dimensions, got a request for {dimensions}.");
        }

        IReadOnlyList<string> texts = values as IReadOnlyList<string> ?? values.ToArray();
        float[][] vectors = _encoder.Embed(texts, cancellationToken);
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(vectors.Length);
        DateTimeOffset created = DateTimeOffset.UtcNow;
        foreach (float[] vector in vectors)
        {
            embeddings.Add(new Embedding<float>(vector) { ModelId = ModelId, CreatedAt = created });
        }

        return Task.FromResult(embeddings);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_encoder) ? _encoder
            : null;
    }

    /// <summary>Nothing to release: the encoder holds managed memory only, and may outlive this generator.</summary>
    public void Dispose()
    {
    }
}
