using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>The encoder as Microsoft.Extensions.AI's IEmbeddingGenerator, by hand and through dependency injection.</summary>
public sealed class EmbeddingGeneratorTests
{
    private static readonly string[] s_texts = { "the cat sat on the mat", "a big red ball", "the dogs ran far away" };

    [Fact]
    public async Task GenerateAsync_returns_the_encoders_embeddings_in_order_with_the_model_id()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        using IEmbeddingGenerator<string, Embedding<float>> generator = new SentenceEmbeddingGenerator(encoder, "tiny-bert");

        GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(s_texts, cancellationToken: TestContext.Current.CancellationToken);

        float[][] expected = encoder.Embed(s_texts, TestContext.Current.CancellationToken);
        Assert.Equal(s_texts.Length, embeddings.Count);
        for (int i = 0; i < s_texts.Length; i++)
        {
            Assert.Equal(expected[i], embeddings[i].Vector.ToArray());
            Assert.Equal("tiny-bert", embeddings[i].ModelId);
        }

        var metadata = (EmbeddingGeneratorMetadata)generator.GetService(typeof(EmbeddingGeneratorMetadata))!;
        Assert.Equal(TinyBertModel.Hidden, metadata.DefaultModelDimensions);
        Assert.Equal("tiny-bert", metadata.DefaultModelId);
        Assert.Same(encoder, generator.GetService(typeof(SentenceEncoder)));
        Assert.Same(generator, generator.GetService(typeof(IEmbeddingGenerator<string, Embedding<float>>)));
        Assert.Null(generator.GetService(typeof(string)));
        Assert.Null(generator.GetService(typeof(SentenceEncoder), serviceKey: "other"));
    }

    [Fact]
    public async Task A_request_for_other_dimensions_is_not_supported()
    {
        using var directory = new TinyModelDirectory();
        using var generator = new SentenceEmbeddingGenerator(SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath));
        await Assert.ThrowsAsync<NotSupportedException>(() =>
            generator.GenerateAsync(s_texts, new EmbeddingGenerationOptions { Dimensions = 4 }, TestContext.Current.CancellationToken));
        GeneratedEmbeddings<Embedding<float>> same = await generator.GenerateAsync(s_texts, new EmbeddingGenerationOptions { Dimensions = TinyBertModel.Hidden }, TestContext.Current.CancellationToken);
        Assert.Equal(s_texts.Length, same.Count);
    }

    [Fact]
    public async Task Cancellation_is_honoured_before_the_first_batch_and_between_batches()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxTokensPerBatch = 1 });
        using var generator = new SentenceEmbeddingGenerator(encoder);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(s_texts, cancellationToken: cancelled.Token));

        // The token is cancelled while the texts are read (during tokenization), so no batch may start afterwards.
        using var during = new CancellationTokenSource();
        var texts = new CancellingList(s_texts, during);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(texts, cancellationToken: during.Token));
    }

    [Fact]
    public async Task Dependency_injection_registers_a_generator_over_a_model_directory()
    {
        using var directory = new TinyModelDirectory();
        directory.WriteSentenceTransformers(TinyModelDirectory.PoolingConfig(cls: true), normalize: false);
        var services = new ServiceCollection();
        services.AddSentenceEmbeddingGenerator<TinyBertShape>(directory.Path, options => options.MaxTokensPerBatch = 64);
        using ServiceProvider provider = services.BuildServiceProvider();

        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        SentenceEncoder encoder = provider.GetRequiredService<SentenceEncoder>();
        GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(s_texts, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(SentencePooling.Cls, encoder.Pooling);
        Assert.False(encoder.Normalize);
        Assert.Equal(64, encoder.MaxTokensPerBatch);
        Assert.Equal(System.IO.Path.GetFileName(directory.Path), embeddings[0].ModelId);
        Assert.Equal(encoder.Embed(s_texts, TestContext.Current.CancellationToken)[2], embeddings[2].Vector.ToArray());
        Assert.Same(generator, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
    }

    [Fact]
    public void Registration_checks_its_arguments()
    {
        Assert.Throws<ArgumentNullException>(() => SentenceEmbeddingServiceCollectionExtensions.AddSentenceEmbeddingGenerator<TinyBertShape>(null!, "x"));
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddSentenceEmbeddingGenerator<TinyBertShape>(" "));
    }

    /// <summary>A list that cancels its token when its last item is read.</summary>
    private sealed class CancellingList(string[] items, CancellationTokenSource source) : IReadOnlyList<string>
    {
        public int Count => items.Length;

        public string this[int index]
        {
            get
            {
                if (index == items.Length - 1)
                {
                    source.Cancel();
                }

                return items[index];
            }
        }

        public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)items).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
