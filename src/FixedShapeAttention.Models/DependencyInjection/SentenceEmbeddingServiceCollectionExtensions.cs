using System;
using FixedShapeAttention.Models;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="SentenceEmbeddingGenerator"/> as the app's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
public static class SentenceEmbeddingServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons, a <see cref="SentenceEncoder"/> loaded from <paramref name="modelDirectory"/> (see
    /// <see cref="SentenceEncoder.LoadDirectory{TShape}(string, SentenceEncoderOptions?)"/>) on the first request, and
    /// an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of <see cref="string"/> to <see cref="Embedding{T}"/> over it.
    /// </summary>
    /// <typeparam name="TShape">The <see cref="SentenceEncoderShapeAttribute"/> class with the model's widths, e.g. <see cref="MiniLmShape"/>.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="modelDirectory">The folder with model.onnx (or onnx/model.onnx), vocab.txt and optionally sentence-transformers' configuration.</param>
    /// <param name="configure">Sets pooling, normalisation and batching; null to take them from the directory.</param>
    /// <param name="modelId">The model name reported with the embeddings; null for the directory's name.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddSentenceEmbeddingGenerator<TShape>(
        this IServiceCollection services, string modelDirectory, Action<SentenceEncoderOptions>? configure = null, string? modelId = null)
        where TShape : ISentenceEncoderShape
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectory);
        string id = modelId ?? System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(modelDirectory)));
        services.TryAddSingleton(_ =>
        {
            var options = new SentenceEncoderOptions();
            configure?.Invoke(options);
            return SentenceEncoder.LoadDirectory<TShape>(modelDirectory, options);
        });
        services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(provider => new SentenceEmbeddingGenerator(provider.GetRequiredService<SentenceEncoder>(), id));
        return services;
    }
}
